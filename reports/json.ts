import type {
  CheckOutcome,
  CoverageResult,
  PropertyName,
  TrainerAuditOutcome,
  WindowingResult,
} from "../properties/outcome.js";
import { sampleIds } from "../properties/sample-set.js";
import { ranPrecision } from "../properties/tolerance.js";
import { adviceFor } from "./advice.js";
import { pinsJson } from "./pins.js";
import { printableJson } from "./printable.js";
import type { Reporter, RunEnd, RunStart } from "./reporter.js";
import { findingsOf } from "./sentences/coverage.js";
import {
  checkErrorMessage,
  errorDetailJson,
  propertyMessage,
  tokenWeightingOf,
} from "./sentences/index.js";
import { windowingFindings } from "./sentences/windowing.js";
import { runWeightings } from "./words.js";

/** Version of the `audit --json` document; raised when a field changes meaning or goes away. */
export const AUDIT_JSON_SCHEMA_VERSION = 1;

/** Most occurrences or windows a JSON list shows; counts and findings are never cut. */
export const LIST_CAP = 200;

type Occurrence = { epoch: number; sample: number };

/** The occurrences of one kind of coverage finding, each with the finding's other fields, capped. */
function occurrences<T>(
  result: CoverageResult,
  kind: "lost" | "leaked" | "duplicated" | "dropped",
  extra: (finding: CoverageResult["findings"][number]) => T,
): Array<Occurrence & T> {
  const list: Array<Occurrence & T> = [];
  for (const finding of findingsOf(result, kind))
    for (const sample of sampleIds(finding.samples, LIST_CAP - list.length))
      list.push({ epoch: finding.epoch, sample, ...extra(finding) });
  return list;
}

function coverageJson(result: CoverageResult) {
  return {
    epochs: result.epochs,
    lost: occurrences(result, "lost", (f) => ({
      inSkippedStep: f.kind === "lost" ? f.skippedStep : null,
    })),
    leaked: occurrences(result, "leaked", (f) =>
      f.kind === "leaked" ? { step: f.step, stepEpoch: f.stepEpoch } : { step: -1, stepEpoch: -1 },
    ),
    duplicated: occurrences(result, "duplicated", (f) => ({
      steps: f.kind === "duplicated" ? f.steps : [],
    })),
    dropped: occurrences(result, "dropped", () => ({})),
    findings: result.findings,
  };
}

function windowingJson(result: WindowingResult) {
  const { findings, ok, ...counts } = result;
  return {
    ...counts,
    mismatches: windowingFindings(result, "unmatched-window")
      .slice(0, LIST_CAP)
      .map(({ kind, stepEpoch, ...mismatch }) => mismatch),
    unproducedWindows: windowingFindings(result, "unproduced-windows")
      .slice(0, LIST_CAP)
      .map(({ kind, ...never }) => never),
    irregularMicroBatches: windowingFindings(result, "irregular-micro-batch")
      .slice(0, LIST_CAP)
      .map(({ kind, ...micro }) => micro),
    findings,
  };
}

/**
 * A check as `accumaudit check --json` prints it: `weighting` names what the weights were held
 * to (`samples` or `tokens`; under tokens `lossTokens` gives each sample's loss tokens, the
 * first {@link LIST_CAP}); `scenario.precision` is the precision asked for and
 * `trainerInfo.precision` the one that ran, always given beside it; `properties` holds each
 * property's verdict, its message and its findings (null when the check could not run, with
 * `error` saying why).
 */
export function checkJson(check: CheckOutcome) {
  const tokens = tokenWeightingOf(check);
  const info = check.trainerInfo;
  const head = {
    trainer: check.trainer,
    ...(info ? { trainerInfo: { ...info, precision: ranPrecision(check.scenario, info) } } : {}),
    scenario: check.scenario,
    verdict: check.verdict,
    weighting: check.scenario.weighting,
    ...(tokens ? { lossTokens: tokens.lossTokens.slice(0, LIST_CAP) } : {}),
  };
  const tail = check.durationMs === undefined ? {} : { durationMs: check.durationMs };
  if (check.verdict === "error") {
    const cause = check.error;
    return {
      ...head,
      properties: null,
      error: checkErrorMessage(cause),
      ...errorDetailJson(cause),
      ...tail,
    };
  }
  const { coverage, weighting, windowing, replicas } = check.properties;
  const message = (name: PropertyName) => propertyMessage(check, name);
  return {
    ...head,
    properties: {
      coverage: { ok: coverage.ok, message: message("coverage"), ...coverageJson(coverage) },
      weighting: {
        ...weighting,
        applicable: weighting.weightedSteps > 0,
        message: message("weighting"),
      },
      windowing: { ok: windowing.ok, message: message("windowing"), ...windowingJson(windowing) },
      replicas: { ...replicas, message: message("replicas") },
      schedule: { ...check.properties.schedule, message: message("schedule") },
      averaging: { ...check.properties.averaging, message: message("averaging") },
      optimizer: { ...check.properties.optimizer, message: message("optimizer") },
    },
    advice: adviceFor(check),
    ...tail,
  };
}

/** One trainer's part of `accumaudit audit --json`. */
export function trainerAuditJson(audit: TrainerAuditOutcome, replay: RunStart["replay"]) {
  const { search } = audit;
  const counterexample =
    search.kind === "refuted"
      ? {
          scenario: search.counterexample.check.scenario,
          seed: search.counterexample.seed,
          path: search.counterexample.path,
          shrinks: search.counterexample.shrinks,
          replay: replay(audit.trainer, search.counterexample.check.scenario),
          result: checkJson(search.counterexample.check),
        }
      : null;
  return {
    trainer: audit.trainer,
    ...(audit.trainerInfo ? { trainerInfo: audit.trainerInfo } : {}),
    verdict: audit.verdict,
    casesRun: search.casesRun,
    counterexample,
    regressions: audit.regressions.map(checkJson),
    ...(search.kind === "error"
      ? {
          error: checkErrorMessage(search.check.error),
          errorCase: {
            replay: replay(audit.trainer, search.check.scenario),
            result: checkJson(search.check),
          },
        }
      : {}),
  };
}

/** Prints `check --json` or, at the end of an audit, `audit --json` to a stream. */
export class JsonReporter implements Reporter {
  private run: RunStart | undefined;
  private readonly trainers: Array<ReturnType<typeof trainerAuditJson>> = [];

  constructor(private readonly out: NodeJS.WritableStream = process.stdout) {}

  onRunStart(run: RunStart): void {
    this.run = run;
  }

  onTrainerEnd(audit: TrainerAuditOutcome): void {
    if (this.run) this.trainers.push(trainerAuditJson(audit, this.run.replay));
  }

  onCheckEnd(check: CheckOutcome): void {
    this.out.write(`${printableJson(checkJson(check))}\n`);
  }

  onRunEnd(end: RunEnd): void {
    const run = this.run;
    if (run?.kind === "check" && end.interrupted)
      this.out.write(`${printableJson({ interrupted: end.interrupted })}\n`);
    if (run?.kind !== "audit") return;
    const document = {
      schemaVersion: AUDIT_JSON_SCHEMA_VERSION,
      harnessVersion: run.meta.harnessVersion,
      date: run.meta.date,
      seed: run.meta.seed,
      runs: run.meta.runs,
      backend: run.meta.backend,
      weighting: runWeightings(run.meta, end.audits).join(", "),
      ...pinsJson(run),
      trainers: this.trainers,
      ...(end.interrupted ? { interrupted: end.interrupted } : {}),
    };
    this.out.write(`${printableJson(document)}\n`);
  }
}
