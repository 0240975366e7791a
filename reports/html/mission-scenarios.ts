import type { CheckOutcome } from "../../properties/outcome.js";
import { explainCheck } from "../sentences/index.js";
import { scenarioLabel } from "../words.js";
import { chartFigures, propertiesTable } from "./diagnosis-section.js";
import { escapeHtml } from "./escape.js";
import { heading, verdictBadge } from "./markup.js";

async function scenarioSection(check: CheckOutcome, id: string, level: number): Promise<string> {
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
    check.verdict === "pass" ? "" : `<p class="explanation">${escapeHtml(explainCheck(check))}</p>`,
    check.verdict === "error" ? "" : propertiesTable(check, `Properties on ${label}`),
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
}): Promise<string> {
  const { checks, id, level } = input;
  if (checks.length === 0) return "";
  const sections = await Promise.all(
    checks.map((c, k) => scenarioSection(c, `${id}-mission-${k}`, level + 1)),
  );
  const intro =
    "<p>Fixed scenarios from the mission, checked at full size beside the property search.</p>";
  return [heading(level, "Mission scenarios", `${id}-mission`), intro, ...sections].join("\n");
}
