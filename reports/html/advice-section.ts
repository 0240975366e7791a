import type { CheckOutcome } from "../../properties/outcome.js";
import { adviceFor } from "../advice.js";
import { escapeHtml } from "./escape.js";
import { heading } from "./markup.js";

/**
 * "How to fix it" for a failing check: each mistake's cause, its evidence (what the trace shows),
 * the change, its snippet (each shown once) and the reference loop to copy. Empty for a check that passed or could not run.
 */
export function renderAdvice(check: CheckOutcome, level: number): string {
  if (check.verdict !== "fail") return "";
  const advice = adviceFor(check);
  if (advice.length === 0) return "";
  const shown = new Set<string>();
  const items = advice.map((a) => {
    const code = shown.has(a.snippet.code)
      ? ""
      : `<pre><code class="language-${a.snippet.language}">${escapeHtml(a.snippet.code)}</code></pre>`;
    shown.add(a.snippet.code);
    const framework = a.framework
      ? ` <strong>In ${escapeHtml(a.framework.name)}:</strong> ${escapeHtml(a.framework.cause)}`
      : "";
    const evidence =
      a.evidence.length > 0
        ? `<p><strong>Evidence:</strong></p><ul class="evidence">${a.evidence.map((e) => `<li>${escapeHtml(e.shows)}</li>`).join("")}</ul>`
        : "";
    return `<li><p>${escapeHtml(a.cause)}</p>${evidence}<p>${framework.trimStart()} <strong>Change:</strong> ${escapeHtml(a.change)}</p>${code}</li>`;
  });
  const references = [...new Set(advice.map((a) => a.reference))]
    .map((r) => `<code>${escapeHtml(r)}</code>`)
    .join(", ");
  return `${heading(level, "How to fix it")}<ul class="advice">${items.join("")}</ul><p>The loop to copy: ${references}.</p>`;
}
