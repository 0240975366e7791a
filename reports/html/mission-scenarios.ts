import type { CheckOutcome } from "../../properties/outcome.js";
import { scenarioLabel } from "../words.js";
import { renderAdvice } from "./advice-section.js";
import { chartFigures, explanationParagraph, propertiesTable } from "./diagnosis-section.js";
import { escapeHtml } from "./escape.js";
import { heading, verdictBadge } from "./markup.js";
import { lossTokensLine, microBatchTable, precisionLine } from "./scenario-panel.js";

async function scenarioSection(
  check: CheckOutcome,
  id: string,
  level: number,
  withAdvice: boolean,
): Promise<string> {
  const label = scenarioLabel(check.scenario);
  const ran =
    check.durationMs === undefined
      ? ""
      : escapeHtml(` · trainer ran ${Math.round(check.durationMs)} ms`);
  const figures = await chartFigures(check, id, `${check.trainer} on ${label}`);
  const charts =
    figures === ""
      ? ""
      : check.verdict === "pass"
        ? `<details class="charts"><summary>Charts (every weight as expected)</summary>${figures}</details>`
        : figures;
  return [
    `<section class="mission mission-${check.verdict}" aria-labelledby="${escapeHtml(id)}">`,
    heading(level, label, id),
    `<p class="lead">Verdict: ${verdictBadge(check.verdict)}${ran}</p>`,
    // A passing scenario's explanation only repeats the properties table below it.
    check.verdict === "pass" ? "" : explanationParagraph(check),
    precisionLine(check),
    lossTokensLine(check),
    check.verdict === "error" ? "" : propertiesTable(check, `Properties on ${label}`),
    check.verdict === "fail" ? microBatchTable(check) : "",
    withAdvice ? renderAdvice(check, level + 1) : "",
    charts,
    "</section>",
  ]
    .filter(Boolean)
    .join("\n");
}

/**
 * A trainer's results on the fixed mission scenarios (its regressions): for each, the verdict,
 * a plain-language explanation (unless it passed), the three properties' messages and the
 * weight heatmap and error chart (folded away when the scenario passed). `level` is the heading
 * level of the section; `id` prefixes its element and SVG ids.
 */
export async function renderMissionScenarios(input: {
  checks: readonly CheckOutcome[];
  id: string;
  level: number;
  /** Say how to fix the first failing scenario (when nothing above has said it). */
  advise?: boolean;
}): Promise<string> {
  const { checks, id, level } = input;
  if (checks.length === 0) return "";
  const advised = input.advise ? checks.findIndex((c) => c.verdict === "fail") : -1;
  const sections = await Promise.all(
    checks.map((c, k) => scenarioSection(c, `${id}-mission-${k}`, level + 1, k === advised)),
  );
  const intro =
    "<p>The known counterexamples of common accumulation loops, checked at full size beside the property search: 110 samples, micro-batches of 8, K = 4 over 2 epochs (where the documentation loop loses its tail) and 1000 samples, micro-batches of 128, K = 4 (where per-micro-batch means over-weight the smaller last micro-batch).</p>";
  return [heading(level, "Known counterexamples", `${id}-mission`), intro, ...sections].join("\n");
}
