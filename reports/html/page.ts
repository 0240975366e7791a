import { escapeHtml } from "./escape.js";

/**
 * No request may leave a report: the policy blocks every fetch (scripts, fonts, images, frames)
 * and allows only the page's own inline styles and data: images.
 */
const CONTENT_SECURITY_POLICY = "default-src 'none'; style-src 'unsafe-inline'; img-src data:";

const STYLES = `
:root { color-scheme: light; --ink: #1a1a1a; --muted: #555; --rule: #c8c8c8; --pass: #1b5e20;
  --fail: #b00020; --error: #8a4b00; --code: #f4f4f4; }
* { box-sizing: border-box; }
body { margin: 0; font: 15px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue",
  Arial, sans-serif; color: var(--ink); background: #fff; }
header, main, footer { max-width: 1180px; margin: 0 auto; padding: 0 20px; }
header { padding-top: 16px; border-bottom: 1px solid var(--rule); }
h1 { font-size: 1.6rem; margin: 0.4em 0; }
h2 { font-size: 1.3rem; margin: 1.6em 0 0.5em; border-bottom: 1px solid var(--rule); }
h3 { font-size: 1.15rem; margin: 1.4em 0 0.4em; }
h4 { font-size: 1.05rem; margin: 1.2em 0 0.3em; }
h5 { font-size: 1rem; margin: 1em 0 0.3em; }
section.mission p.lead { margin-bottom: 0.5em; }
p.lead { color: var(--muted); margin-top: 0; }
p.interrupted { color: var(--error); }
.table-scroll { max-width: 100%; overflow-x: auto; }
table { border-collapse: collapse; margin: 0.5em 0 1em; font-variant-numeric: tabular-nums; }
caption { text-align: left; color: var(--muted); padding-bottom: 4px; caption-side: top; }
th, td { border: 1px solid var(--rule); padding: 4px 10px; text-align: left; vertical-align: top; }
thead th { background: #f0f0f0; }
tbody th { font-weight: 600; }
td.num { text-align: right; }
.verdict { font-weight: 700; white-space: nowrap; }
.verdict-pass { color: var(--pass); }
.verdict-fail { color: var(--fail); }
.verdict-error { color: var(--error); }
.verdict-none { color: var(--muted); font-weight: 400; }
pre { background: var(--code); border: 1px solid var(--rule); padding: 8px 12px; overflow-x: auto;
  white-space: pre-wrap; word-break: break-all; }
code { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-size: 0.92em; }
dl.meta { display: grid; grid-template-columns: max-content 1fr; gap: 2px 16px; }
dl.meta dt { font-weight: 600; }
dl.meta dd { margin: 0; }
figure { margin: 1em 0; }
figure .chart { overflow-x: auto; }
figure svg { max-width: 100%; height: auto; display: block; }
figcaption { color: var(--muted); font-size: 0.92em; max-width: 75em; }
article.trainer { border-top: 3px solid var(--fail); margin-top: 2em; }
article.trainer-pass { border-top-color: var(--pass); }
article.trainer-error { border-top-color: var(--error); }
section.mission { border-left: 3px solid var(--rule); padding-left: 14px; margin: 1.2em 0; }
section.mission-fail { border-left-color: var(--fail); }
section.mission-error { border-left-color: var(--error); }
p.explanation { max-width: 75em; }
nav ul { padding-left: 1.2em; }
details { margin: 0.5em 0 1em; }
summary { cursor: pointer; }
footer { color: var(--muted); font-size: 0.85em; border-top: 1px solid var(--rule); margin-top: 2em;
  padding-top: 8px; padding-bottom: 24px; }
@media print { figure { break-inside: avoid; } }
`;

/** How the report numbers things; shown under each report's title. */
export const NUMBERING_NOTE =
  "Steps, epochs, windows and micro-batches are numbered from 1; sample ids are numbered from 0, as in the trace.";

/** A complete, self-contained HTML document: inline styles, no scripts, no external resources. */
export function renderPage(page: {
  title: string;
  header: string;
  main: string;
  footer: string;
}): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="${CONTENT_SECURITY_POLICY}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="accumaudit">
<title>${escapeHtml(page.title)}</title>
<style>${STYLES}</style>
</head>
<body>
<header>${page.header}</header>
<main>${page.main}</main>
<footer>${page.footer}</footer>
</body>
</html>
`;
}
