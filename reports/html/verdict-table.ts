import type { AuditResult, CheckResult, TrainerAudit, Verdict } from "../../properties/result.js";
import { escapeHtml } from "./format.js";
import { table, verdictBadge } from "./markup.js";
import { scenarioLabel } from "./scenario-label.js";

type PropertyName = "coverage" | "weighting" | "windowing";

/** How the property search ended: its counterexample's verdict, an error, or no failure. */
function searchVerdict(t: TrainerAudit): Verdict {
  if (t.counterexample) return t.counterexample.result.verdict;
  return t.error ? "error" : "pass";
}

/**
 * A property's cell for the search: a search that found nothing passed every property on every
 * case; one that could not run is an error; a failed search shows how the property did on its
 * shrunk counterexample.
 */
function propertyVerdict(t: TrainerAudit, property: PropertyName): Verdict | null {
  const result = t.counterexample?.result;
  if (!result) return searchVerdict(t);
  if (!result.properties) return result.verdict === "error" ? "error" : null;
  return result.properties[property].ok ? "pass" : "fail";
}

function framework(t: TrainerAudit): string {
  const info = t.trainerInfo ?? t.counterexample?.result.trainerInfo;
  if (!info?.framework) return "built-in";
  return [info.framework, info.frameworkVersion].filter(Boolean).join(" ");
}

/** A trainer's regression results; audits written before regressions existed have none. */
export function regressionsOf(t: TrainerAudit): readonly CheckResult[] {
  return t.regressions ?? [];
}

/** The mission scenarios of an audit, by label, in the order the trainers list them. */
function missionLabels(audit: AuditResult): string[] {
  const labels = audit.trainers.flatMap((t) =>
    regressionsOf(t).map((r) => scenarioLabel(r.scenario)),
  );
  return [...new Set(labels)];
}

/**
 * The audit's verdict table: one row per trainer with its overall verdict, each property of its
 * property search, and its verdict on each mission scenario, all as symbol + word.
 */
export function renderVerdictTable(audit: AuditResult, anchors: Map<string, string>): string {
  const missions = missionLabels(audit);
  const searchColumns = ["coverage", "weighting", "windowing", "cases run"];
  return table({
    caption:
      "Verdict per trainer: the worst of its property search and its mission scenarios. " +
      "For a search that failed, the property columns describe its shrunk counterexample.",
    groups: [
      { label: "", span: 3 },
      { label: "property search", span: searchColumns.length },
      ...(missions.length > 0 ? [{ label: "mission scenarios", span: missions.length }] : []),
    ],
    columns: ["trainer", "framework", "verdict", ...searchColumns, ...missions],
    rows: audit.trainers.map((t) => {
      const anchor = anchors.get(t.trainer);
      const name = `<code>${escapeHtml(t.trainer)}</code>`;
      const results = new Map(regressionsOf(t).map((r) => [scenarioLabel(r.scenario), r]));
      return {
        header: anchor ? `<a href="#${escapeHtml(anchor)}">${name}</a>` : name,
        cells: [
          escapeHtml(framework(t)),
          verdictBadge(t.verdict),
          verdictBadge(propertyVerdict(t, "coverage")),
          verdictBadge(propertyVerdict(t, "weighting")),
          verdictBadge(propertyVerdict(t, "windowing")),
          String(t.casesRun),
          ...missions.map((label) => verdictBadge(results.get(label)?.verdict ?? null)),
        ],
      };
    }),
    numeric: [5],
  });
}
