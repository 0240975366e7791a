import type { CheckDiagnosis, CheckResult } from "../../properties/result.js";
import { chartFigures, propertiesTable } from "./diagnosis-section.js";
import { explainCheck } from "./explanation.js";
import { escapeHtml } from "./format.js";
import { heading, verdictBadge } from "./markup.js";
import { scenarioLabel } from "./scenario-label.js";

/** A diagnosis with no trace, for a result whose trace was not kept: text, no charts. */
function withoutTrace(result: CheckResult): CheckDiagnosis {
  return { result, trace: null, steps: [], occurrenceStatus: [], expectedWeight: [] };
}

async function scenarioSection(
  result: CheckResult,
  diagnosis: CheckDiagnosis | undefined,
  id: string,
  level: number,
): Promise<string> {
  const d = diagnosis ?? withoutTrace(result);
  const label = scenarioLabel(result.scenario);
  const ran =
    result.durationMs === undefined
      ? ""
      : escapeHtml(` · trainer ran ${Math.round(result.durationMs)} ms`);
  const figures = await chartFigures(d, id, `${result.trainer} on ${label}`);
  const charts =
    figures === ""
      ? result.verdict === "error"
        ? ""
        : "<p>No trace was kept for this scenario, so there are no charts.</p>"
      : result.verdict === "pass"
        ? `<details class="charts"><summary>Charts (every weight as expected)</summary>${figures}</details>`
        : figures;
  return [
    `<section class="mission mission-${result.verdict}" aria-labelledby="${escapeHtml(id)}">`,
    heading(level, label, id),
    `<p class="lead">Verdict: ${verdictBadge(result.verdict)}${ran}</p>`,
    // A passing scenario's explanation only repeats the properties table below it.
    result.verdict === "pass" ? "" : `<p class="explanation">${escapeHtml(explainCheck(d))}</p>`,
    propertiesTable(d, `Properties on ${label}`),
    charts,
    "</section>",
  ]
    .filter(Boolean)
    .join("\n");
}

/**
 * A trainer's results on the fixed mission scenarios (its regressions): for each, the verdict,
 * a plain-language explanation (unless it passed), the three properties' messages and, from its
 * diagnosis, the weight heatmap and error chart (folded away when the scenario passed). `diagnoses` holds one
 * diagnosis per result, in the same order; a missing one leaves that scenario without charts.
 * `level` is the heading level of the section; `id` prefixes its element and SVG ids.
 */
export async function renderMissionScenarios(input: {
  results: readonly CheckResult[];
  diagnoses?: readonly CheckDiagnosis[];
  id: string;
  level: number;
}): Promise<string> {
  const { results, id, level } = input;
  if (results.length === 0) return "";
  const sections = await Promise.all(
    results.map((r, k) =>
      scenarioSection(r, input.diagnoses?.[k], `${id}-mission-${k}`, level + 1),
    ),
  );
  const intro =
    "<p>Fixed scenarios from the mission, checked at full size beside the property search.</p>";
  return [heading(level, "Mission scenarios", `${id}-mission`), intro, ...sections].join("\n");
}
