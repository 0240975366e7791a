import type { AuditResult, TrainerAudit, Verdict } from "../../properties/result.js";
import { escapeHtml } from "./format.js";
import { table, verdictBadge } from "./markup.js";

type PropertyName = "coverage" | "weighting" | "windowing";

/**
 * A property's cell: a passing trainer passed every property on every case; an error trainer
 * was not checked; a failing trainer shows how the property did on its shrunk counterexample.
 */
function propertyVerdict(t: TrainerAudit, property: PropertyName): Verdict | null {
  if (t.verdict === "pass") return "pass";
  if (t.verdict === "error") return "error";
  const result = t.counterexample?.result;
  if (!result) return null;
  if (!result.properties) return result.verdict === "error" ? "error" : null;
  return result.properties[property].ok ? "pass" : "fail";
}

function framework(t: TrainerAudit): string {
  const info = t.trainerInfo ?? t.counterexample?.result.trainerInfo;
  if (!info?.framework) return "built-in";
  return [info.framework, info.frameworkVersion].filter(Boolean).join(" ");
}

/** The audit's verdict table: one row per trainer, verdict and each property as symbol + word. */
export function renderVerdictTable(audit: AuditResult, anchors: Map<string, string>): string {
  return table({
    caption:
      "Verdict per trainer. For a failing trainer the property columns describe its shrunk counterexample.",
    columns: ["trainer", "framework", "verdict", "coverage", "weighting", "windowing", "cases run"],
    rows: audit.trainers.map((t) => {
      const anchor = anchors.get(t.trainer);
      const name = `<code>${escapeHtml(t.trainer)}</code>`;
      return {
        header: anchor ? `<a href="#${escapeHtml(anchor)}">${name}</a>` : name,
        cells: [
          escapeHtml(framework(t)),
          verdictBadge(t.verdict),
          verdictBadge(propertyVerdict(t, "coverage")),
          verdictBadge(propertyVerdict(t, "weighting")),
          verdictBadge(propertyVerdict(t, "windowing")),
          String(t.casesRun),
        ],
      };
    }),
    numeric: [5],
  });
}
