import type { AuditResult, CheckResult, TrainerAudit, Verdict } from "../properties/result.js";
import { scenarioFlags, scenarioShape } from "../trainers/contract/scenario.js";

const MARK: Record<Verdict, string> = { pass: "PASS", fail: "FAIL", error: "ERROR" };

function propertyLine(name: string, ok: boolean, message: string): string {
  return `  ${ok ? "✓" : "✗"} ${name.padEnd(10)} ${message}`;
}

function trainerLabel(trainer: string, info: CheckResult["trainerInfo"]): string {
  if (!info?.framework) return trainer;
  const ran = info.precision ? `, ran ${info.precision}` : "";
  return `${trainer} (${info.framework}${info.frameworkVersion ? ` ${info.frameworkVersion}` : ""}${ran})`;
}

/** Plain-text result of one check, as `accumaudit check` prints it. */
export function formatCheck(result: CheckResult): string {
  const head = `${MARK[result.verdict]}  ${trainerLabel(result.trainer, result.trainerInfo)}  ${scenarioFlags(result.scenario).join(" ")}`;
  if (!result.properties) return `${head}\n  error: ${result.error ?? "unknown error"}`;
  const { coverage, weighting, windowing } = result.properties;
  return [
    head,
    propertyLine("coverage", coverage.ok, coverage.message),
    propertyLine("weighting", weighting.ok, weighting.message),
    propertyLine("windowing", windowing.ok, windowing.message),
  ].join("\n");
}

function regressionLine(r: CheckResult): string {
  const scenario = scenarioShape(r.scenario);
  if (!r.properties) return `  ${scenario}: ${MARK.error} ${r.error ?? ""}`;
  const { coverage, weighting, windowing } = r.properties;
  const mark = (ok: boolean) => (ok ? "✓" : "✗");
  const error = Number(weighting.maxRelError.toPrecision(3));
  return `  ${scenario}: ${MARK[r.verdict]}  ${mark(coverage.ok)} coverage  ${mark(weighting.ok)} weighting (max rel. error ${error})  ${mark(windowing.ok)} windowing`;
}

/** Plain-text result of one trainer's audit: the search, then the regression scenarios. */
export function formatTrainerAudit(t: TrainerAudit): string {
  const label = trainerLabel(t.trainer, t.trainerInfo);
  const lines = t.regressions.map(regressionLine);
  const c = t.counterexample;
  if (!c) {
    const search = t.error
      ? `search error: ${t.error}`
      : `no counterexample in ${t.casesRun} generated scenarios`;
    return [`${MARK[t.verdict]}  ${label}: ${search}`, ...lines].join("\n");
  }
  return [
    `${MARK[t.verdict]}  ${label}: failed after ${t.casesRun} generated scenario(s), shrunk in ${c.shrinks} step(s) to:`,
    ...formatCheck(c.result)
      .split("\n")
      .map((line) => `  ${line}`),
    `  replay: ${c.replay}`,
    `  search replay: --seed ${c.seed} --path ${c.path}`,
    ...lines,
  ].join("\n");
}

/** The first line of an audit's text output. */
export function formatAuditHeader(
  a: Pick<AuditResult, "harnessVersion" | "runs" | "seed" | "backend">,
  trainers: number,
): string {
  return `accumaudit ${a.harnessVersion}: ${trainers} trainer(s), up to ${a.runs} scenarios each, seed ${a.seed}, backend ${a.backend}`;
}

/** The last line of an audit's text output. */
export function formatAuditSummary(audit: AuditResult): string {
  const holding = audit.trainers.filter((t) => t.verdict === "pass").length;
  return `${holding} of ${audit.trainers.length} trainer(s) hold every property`;
}

/** Plain-text summary of an audit. */
export function formatAudit(audit: AuditResult): string {
  return [
    formatAuditHeader(audit, audit.trainers.length),
    ...audit.trainers.map(formatTrainerAudit),
    formatAuditSummary(audit),
  ].join("\n");
}
