import { escapeHtml } from "./escape.js";

/**
 * A chart as an accessible figure: the SVG is one image (role="img") named by its title, and
 * the caption carries a text summary of the data for readers who cannot see it.
 */
export function renderFigure(figure: {
  id: string;
  title: string;
  svg: string;
  summary: string;
}): string {
  const id = escapeHtml(figure.id);
  return `<figure id="${id}">
<div class="chart" role="img" aria-label="${escapeHtml(figure.title)}" aria-describedby="${id}-caption">${figure.svg}</div>
<figcaption id="${id}-caption"><strong>${escapeHtml(figure.title)}.</strong> ${escapeHtml(figure.summary)}</figcaption>
</figure>`;
}
