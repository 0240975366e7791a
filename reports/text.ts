import {
  type CheckErrorCause,
  type CheckJudgement,
  type CheckOutcome,
  type PropertyName,
  propertiesFor,
  type TrainerAuditOutcome,
  type Verdict,
} from "../properties/outcome.js";
import { type Advice, adviceFor } from "./advice.js";
import { pinLines } from "./pins.js";
import { printable } from "./printable.js";
import type { Reporter, RunEnd, RunMeta, RunStart } from "./reporter.js";
import {
  checkErrorMessage,
  interruptedSentence,
  propertyMessage,
  tokenWeightingOf,
  tracebackLines,
} from "./sentences/index.js";
import {
  formatCounts,
  formatNumber,
  plural,
  precisionWords,
  runWeightings,
  scenarioLabel,
  scenarioShape,
  trainerLabel,
  WEIGHTING_WORDS,
  weightingsText,
} from "./words.js";

const MARK: Record<Verdict, string> = { pass: "PASS", fail: "FAIL", error: "ERROR" };
const tick = (ok: boolean) => (ok ? "✓" : "✗");

/** Evidence lines shown per advice item; --json and the HTML report list every one. */
const EVIDENCE_SHOWN = 3;

/** "Evidence: ..." lines of one advice item, the first few of its evidence. */
function evidenceLines(a: Advice): string[] {
  const shown = a.evidence.slice(0, EVIDENCE_SHOWN);
  const more = a.evidence.length - shown.length;
  return [
    ...shown.map((e, i) => `      ${i === 0 ? "Evidence:" : "         "} ${e.shows}`),
    ...(more > 0 ? [`          and ${more} more (--json and --report list every one)`] : []),
  ];
}

/**
 * How to fix a failing loop: each mistake's cause, its evidence (what the trace shows), the
 * change, its snippet once, the loop to copy.
 */
export function formatAdvice(advice: readonly Advice[]): string[] {
  if (advice.length === 0) return [];
  const lines = ["  how to fix it:"];
  const shown = new Set<string>();
  for (const a of advice) {
    lines.push(`    - ${a.cause}`);
    lines.push(...evidenceLines(a));
    if (a.framework) lines.push(`      In ${printable(a.framework.name)}: ${a.framework.cause}`);
    lines.push(`      Change: ${a.change}`);
    if (!shown.has(a.snippet.code)) {
      shown.add(a.snippet.code);
      lines.push(...a.snippet.code.split("\n").map((line) => `        ${line}`));
    }
  }
  const references = [...new Set(advice.map((a) => a.reference))];
  lines.push(`    The loop to copy: ${references.join(", ")}`);
  return lines;
}

/**
 * The weighting a check was held to, and under token weighting each sample's loss tokens:
 * "weighting: loss tokens (each loss token counts the same); loss tokens per sample: 1, 2".
 */
export function weightingLine(check: CheckJudgement): string {
  const tokens = tokenWeightingOf(check);
  const counts = tokens ? `; loss tokens per sample: ${formatCounts(tokens.lossTokens)}` : "";
  return `weighting: ${WEIGHTING_WORDS[check.scenario.weighting]}${counts}`;
}

/** Plain-text result of one check, as `accumaudit check` prints it. */
export function formatCheck(check: CheckOutcome): string {
  const label = trainerLabel(check.trainer, check.trainerInfo, check.scenario.precision);
  const head = `${MARK[check.verdict]}  ${label}  ${scenarioLabel(check.scenario)}`;
  if (check.verdict === "error") return [head, ...errorLines(check.error)].join("\n");
  return [
    head,
    `  ${weightingLine(check)}`,
    ...propertiesFor(check.scenario.worldSize, check.scenario).map(
      (name) => `  ${mark(check, name)} ${name.padEnd(10)} ${propertyMessage(check, name)}`,
    ),
    ...formatAdvice(adviceFor(check)),
  ].join("\n");
}

/** A check's error and, when the trainer's own code raised, its frames. */
function errorLines(cause: CheckErrorCause): string[] {
  const frames = tracebackLines(cause);
  return [
    `  error: ${checkErrorMessage(cause)}`,
    ...(frames.length > 0
      ? ["  in your code (outermost first):", ...frames.map((f) => `    ${f}`)]
      : []),
  ];
}

/** ✓ or ✗ for a property, – where it could not be evaluated (weighting when no step applied). */
function mark(check: CheckJudgement, name: PropertyName): string {
  if (name === "weighting" && check.properties.weighting.weightedSteps === 0) return "–";
  return tick(check.properties[name].ok);
}

/** One regression scenario's line; an error already said above is not said again. */
function regressionLine(r: CheckOutcome, saidAbove: string | null): string {
  const precision = precisionWords(r.scenario.precision, r.trainerInfo);
  const scenario = `${scenarioShape(r.scenario)}${precision ? ` (${precision})` : ""}`;
  if (r.verdict === "error") {
    const message = checkErrorMessage(r.error);
    return `  ${scenario}: ${MARK.error}  ${message === saidAbove ? "the same error" : message}`;
  }
  const { weighting } = r.properties;
  const error =
    weighting.weightedSteps === 0
      ? "not applicable: no step applied"
      : `max rel. error ${formatNumber(weighting.maxRelError)}`;
  const ranks = r.scenario.worldSize > 1 ? `  ${mark(r, "replicas")} replicas` : "";
  return `  ${scenario}: ${MARK[r.verdict]}  ${mark(r, "coverage")} coverage  ${mark(r, "weighting")} weighting (${error})  ${mark(r, "windowing")} windowing${ranks}`;
}

const indent = (text: string) =>
  text
    .split("\n")
    .map((line) => `  ${line}`)
    .join("\n");

/** How a search is replayed: the command line's flags, or code for a library's user. */
export type SearchReplay = (seed: number, path: string) => string;

const flagSearchReplay: SearchReplay = (seed, path) => `--seed ${seed} --path ${path}`;

/** Plain-text result of one trainer's audit: the search, then the regression scenarios. */
export function formatTrainerAudit(
  audit: TrainerAuditOutcome,
  replay: RunStart["replay"],
  searchReplay: SearchReplay = flagSearchReplay,
): string {
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
        ...errorLines(search.check.error).slice(1),
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
        `  search replay: ${searchReplay(c.seed, c.path)}`,
        ...lines,
      ].join("\n");
    }
  }
}

/** The first line of an audit's text output. */
export function formatAuditHeader(meta: RunMeta, trainers: number): string {
  const weighting = meta.weighting ? `, weighting ${meta.weighting}` : "";
  return `accumaudit ${meta.harnessVersion}: ${plural(trainers, "trainer")}, up to ${plural(meta.runs ?? 0, "scenario")} each, seed ${meta.seed}, backend ${meta.backend}${weighting}`;
}

/**
 * The last line of an audit's text output; given the run's metadata, it ends with the weighting
 * the trainers were held to: "; weighting: samples (each sample counts the same)".
 */
export function formatAuditSummary(
  audits: readonly TrainerAuditOutcome[],
  meta?: Pick<RunMeta, "weighting">,
): string {
  const count = (verdict: Verdict) => audits.filter((a) => a.verdict === verdict).length;
  const errors = count("error");
  const unchecked = errors > 0 ? `, ${errors} could not be checked` : "";
  const verb = (n: number, one: string, many: string) => `${n} ${n === 1 ? one : many}`;
  const weightings = meta ? runWeightings(meta, audits) : [];
  const weighting = weightings.length > 0 ? `; weighting: ${weightingsText(weightings)}` : "";
  return `${plural(audits.length, "trainer")}: ${verb(count("pass"), "holds", "hold")} every property, ${verb(count("fail"), "fails", "fail")}${unchecked}${weighting}`;
}

/** Writes the plain-text output of a check or an audit to a stream as the outcomes come. */
export class TextReporter implements Reporter {
  private run: RunStart | undefined;
  private readonly audits: TrainerAuditOutcome[] = [];

  constructor(private readonly out: NodeJS.WritableStream = process.stdout) {}

  onRunStart(run: RunStart): void {
    this.run = run;
    if (run.kind === "audit")
      this.out.write(
        `${[formatAuditHeader(run.meta, run.trainers.length), ...pinLines(run)].join("\n")}\n`,
      );
  }

  onTrainerEnd(audit: TrainerAuditOutcome): void {
    this.audits.push(audit);
    if (this.run)
      this.out.write(
        `${formatTrainerAudit(audit, this.run.replay, this.run.searchReplay ?? flagSearchReplay)}\n`,
      );
  }

  onCheckEnd(check: CheckOutcome): void {
    this.out.write(`${formatCheck(check)}\n`);
  }

  onRunEnd(end: RunEnd): void {
    if (end.interrupted) this.out.write(`${interruptedSentence(end.interrupted)}\n`);
    if (this.run?.kind === "audit")
      this.out.write(`${formatAuditSummary(this.audits, this.run.meta)}\n`);
  }
}
