import { searchVerdict } from "../../properties/audit.js";
import type { PropertyName, TrainerAuditOutcome, Verdict } from "../../properties/outcome.js";
import { frameworkLabel, scenarioLabel } from "../words.js";
import { escapeHtml } from "./escape.js";
import { table, verdictBadge } from "./markup.js";

/**
 * A property's cell for the search: a search that found nothing passed every property on every
 * case; one that could not run is an error; a refuted search shows how the property did on its
 * shrunk counterexample.
 */
function propertyVerdict(audit: TrainerAuditOutcome, property: PropertyName): Verdict | "n/a" {
  const search = audit.search;
  if (search.kind !== "refuted") return searchVerdict(search);
  const { properties } = search.counterexample.check;
  if (property === "weighting" && properties.weighting.weightedSteps === 0) return "n/a";
  return properties[property].ok ? "pass" : "fail";
}

/** The regression scenarios of an audit, by label, in the order the trainers list them. */
function missionLabels(audits: readonly TrainerAuditOutcome[]): string[] {
  return [...new Set(audits.flatMap((a) => a.regressions.map((r) => scenarioLabel(r.scenario))))];
}

/**
 * The audit's verdict table: one row per trainer with its overall verdict, each property of its
 * property search, and its verdict on each mission scenario, all as symbol + word. `anchors[i]`
 * links row i to its trainer's section.
 */
export function renderVerdictTable(
  audits: readonly TrainerAuditOutcome[],
  anchors: readonly string[],
): string {
  const missions = missionLabels(audits);
  const ranks = audits.some((a) => a.worldSizes[1] > 1);
  const searchColumns = [
    "coverage",
    "weighting",
    "windowing",
    ...(ranks ? ["replicas", "world size W"] : []),
    "cases run",
  ];
  return table({
    caption:
      "Verdict per trainer: the worst of its property search and its known counterexamples. " +
      "For a search that failed, the property columns describe its shrunk counterexample.",
    groups: [
      { label: "", span: 3 },
      { label: "property search", span: searchColumns.length },
      ...(missions.length > 0 ? [{ label: "known counterexamples", span: missions.length }] : []),
    ],
    columns: ["trainer", "framework", "verdict", ...searchColumns, ...missions],
    rows: audits.map((a, i) => {
      const anchor = anchors[i];
      const name = `<code>${escapeHtml(a.trainer)}</code>`;
      const results = new Map(a.regressions.map((r) => [scenarioLabel(r.scenario), r]));
      return {
        header: anchor ? `<a href="#${escapeHtml(anchor)}">${name}</a>` : name,
        cells: [
          escapeHtml(frameworkLabel(a.trainerInfo)),
          verdictBadge(a.verdict),
          verdictBadge(propertyVerdict(a, "coverage")),
          verdictBadge(propertyVerdict(a, "weighting")),
          verdictBadge(propertyVerdict(a, "windowing")),
          ...(ranks
            ? [
                verdictBadge(propertyVerdict(a, "replicas")),
                a.worldSizes[0] === a.worldSizes[1]
                  ? String(a.worldSizes[0])
                  : `${a.worldSizes[0]}–${a.worldSizes[1]}`,
              ]
            : []),
          String(a.search.casesRun),
          ...missions.map((label) => verdictBadge(results.get(label)?.verdict ?? null)),
        ],
      };
    }),
    numeric: ranks ? [7] : [5],
  });
}
