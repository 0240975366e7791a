import {
  type CheckOutcome,
  propertiesFor,
  type TrainerAuditOutcome,
  type Verdict,
} from "../properties/outcome.js";
import type { Reporter, RunMeta, RunStart } from "./reporter.js";
import { checkErrorMessage, propertyMessage } from "./sentences/index.js";
import { formatNumber, plural, scenarioLabel, scenarioShape, trainerLabel } from "./words.js";

const MARK: Record<Verdict, string> = { pass: "PASS", fail: "FAIL", error: "ERROR" };
const tick = (ok: boolean) => (ok ? "✓" : "✗");

/** Plain-text result of one check, as `accumaudit check` prints it. */
export function formatCheck(check: CheckOutcome): string {
  const head = `${MARK[check.verdict]}  ${trainerLabel(check.trainer, check.trainerInfo)}  ${scenarioLabel(check.scenario)}`;
  if (check.verdict === "error") return `${head}\n  error: ${checkErrorMessage(check.error)}`;
  return [
    head,
    ...propertiesFor(check.scenario.worldSize).map(
      (name) =>
        `  ${tick(check.properties[name].ok)} ${name.padEnd(10)} ${propertyMessage(check, name)}`,
    ),
  ].join("\n");
}

/** One regression scenario's line; an error already said above is not said again. */
function regressionLine(r: CheckOutcome, saidAbove: string | null): string {
  const scenario = scenarioShape(r.scenario);
  if (r.verdict === "error") {
    const message = checkErrorMessage(r.error);
    return `  ${scenario}: ${MARK.error}  ${message === saidAbove ? "the same error" : message}`;
  }
  const { coverage, weighting, windowing, replicas } = r.properties;
  const error = formatNumber(weighting.maxRelError);
  const ranks = r.scenario.worldSize > 1 ? `  ${tick(replicas.ok)} replicas` : "";
  return `  ${scenario}: ${MARK[r.verdict]}  ${tick(coverage.ok)} coverage  ${tick(weighting.ok)} weighting (max rel. error ${error})  ${tick(windowing.ok)} windowing${ranks}`;
}

const indent = (text: string) =>
  text
    .split("\n")
    .map((line) => `  ${line}`)
    .join("\n");

/** Plain-text result of one trainer's audit: the search, then the regression scenarios. */
export function formatTrainerAudit(audit: TrainerAuditOutcome, replay: RunStart["replay"]): string {
  const label = trainerLabel(audit.trainer, audit.trainerInfo);
  const search = audit.search;
  const searchError = search.kind === "error" ? checkErrorMessage(search.check.error) : null;
  const lines = audit.regressions.map((r) => regressionLine(r, searchError));
  const found = plural(search.casesRun, "generated scenario");
  switch (search.kind) {
    case "passed": {
      const but =
        audit.verdict === "pass" ? "" : "; the regression scenarios below do not all pass";
      return [
        `${MARK[audit.verdict]}  ${label}: no counterexample in ${found}${but}`,
        ...lines,
      ].join("\n");
    }
    case "error":
      return [
        `${MARK[audit.verdict]}  ${label}: could not be checked (case ${search.casesRun} of the search): ${searchError}`,
        `  scenario: ${scenarioLabel(search.check.scenario)}`,
        `  replay: ${replay(audit.trainer, search.check.scenario)}`,
        ...lines,
      ].join("\n");
    case "refuted": {
      const c = search.counterexample;
      return [
        `${MARK[audit.verdict]}  ${label}: failed after ${found}, shrunk in ${plural(c.shrinks, "step")} to:`,
        indent(formatCheck(c.check)),
        `  replay: ${replay(audit.trainer, c.check.scenario)}`,
        `  search replay: --seed ${c.seed} --path ${c.path}`,
        ...lines,
      ].join("\n");
    }
  }
}

/** The first line of an audit's text output. */
export function formatAuditHeader(meta: RunMeta, trainers: number): string {
  return `accumaudit ${meta.harnessVersion}: ${plural(trainers, "trainer")}, up to ${plural(meta.runs ?? 0, "scenario")} each, seed ${meta.seed}, backend ${meta.backend}`;
}

/** The last line of an audit's text output. */
export function formatAuditSummary(audits: readonly TrainerAuditOutcome[]): string {
  const count = (verdict: Verdict) => audits.filter((a) => a.verdict === verdict).length;
  const errors = count("error");
  const unchecked = errors > 0 ? `, ${errors} could not be checked` : "";
  const verb = (n: number, one: string, many: string) => `${n} ${n === 1 ? one : many}`;
  return `${plural(audits.length, "trainer")}: ${verb(count("pass"), "holds", "hold")} every property, ${verb(count("fail"), "fails", "fail")}${unchecked}`;
}

/** Writes the plain-text output of a check or an audit to a stream as the outcomes come. */
export class TextReporter implements Reporter {
  private run: RunStart | undefined;
  private readonly audits: TrainerAuditOutcome[] = [];

  constructor(private readonly out: NodeJS.WritableStream = process.stdout) {}

  onRunStart(run: RunStart): void {
    this.run = run;
    if (run.kind === "audit")
      this.out.write(`${formatAuditHeader(run.meta, run.trainers.length)}\n`);
  }

  onTrainerEnd(audit: TrainerAuditOutcome): void {
    this.audits.push(audit);
    if (this.run) this.out.write(`${formatTrainerAudit(audit, this.run.replay)}\n`);
  }

  onCheckEnd(check: CheckOutcome): void {
    this.out.write(`${formatCheck(check)}\n`);
  }

  onRunEnd(): void {
    if (this.run?.kind === "audit") this.out.write(`${formatAuditSummary(this.audits)}\n`);
  }
}
