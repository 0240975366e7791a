import fc from "fast-check";
import { type Scenario, scenarioFlags } from "../trainers/contract/scenario.js";
import type { RunOptions, Trainer } from "../trainers/contract/trainer.js";
import { type ScenarioSpace, scenarioArbitrary } from "./arbitraries.js";
import type { CheckDiagnosis, TrainerAudit, Verdict } from "./result.js";
import { runCheck } from "./run-check.js";

/** Progress of a trainer's property search. */
export interface AuditProgress {
  trainer: string;
  phase: "search" | "shrink";
  /** Scenarios run so far in this phase. */
  cases: number;
  runs: number;
  verdict?: CheckDiagnosis["result"]["verdict"];
}

export interface AuditOptions {
  /** Scenarios to generate per trainer. */
  runs: number;
  seed: number;
  /** fast-check replay path (with the seed of the failing audit). */
  path?: string;
  space?: Partial<ScenarioSpace>;
  /** Fixed scenarios checked beside the search, e.g. {@link missionScenarios}. */
  regressions?: Scenario[];
  runOptions?: RunOptions;
  /** Extra `accumaudit check` flags for the replay command (backend, python, device). */
  replayFlags?: string[];
  onProgress?: (progress: AuditProgress) => void;
}

/** A trainer's audit with the diagnoses of its shrunk counterexample and its regression scenarios. */
export interface TrainerAuditOutcome {
  audit: TrainerAudit;
  diagnosis: CheckDiagnosis | null;
  /** One per regression scenario, in order. */
  regressionDiagnoses: CheckDiagnosis[];
}

/** A refuted property outranks a trainer that could not be run, which outranks a pass. */
function worstVerdict(verdicts: Verdict[]): Verdict {
  if (verdicts.includes("fail")) return "fail";
  return verdicts.includes("error") ? "error" : "pass";
}

/** The shell command that replays a scenario on a trainer. */
export function replayCommand(
  trainer: string,
  scenario: Scenario,
  extraFlags: string[] = [],
): string {
  return [
    "accumaudit",
    "check",
    "--trainer",
    trainer,
    ...scenarioFlags(scenario),
    ...extraFlags,
  ].join(" ");
}

/**
 * Audits a trainer: checks it on the fixed regression scenarios, then runs a property search
 * over generated scenarios until one fails and lets fast-check shrink it to a minimal
 * counterexample. Errors of the trainer count as failures of the search (verdict "error").
 * Never throws for a trainer's failure.
 */
export async function auditTrainer(
  trainer: Trainer,
  options: AuditOptions,
): Promise<TrainerAuditOutcome> {
  const regressionDiagnoses: CheckDiagnosis[] = [];
  for (const scenario of options.regressions ?? [])
    regressionDiagnoses.push(await runCheck(trainer, scenario, options.runOptions));
  const search = await searchCounterexample(trainer, options);
  const regressions = regressionDiagnoses.map((d) => d.result);
  const verdict = worstVerdict([search.audit.verdict, ...regressions.map((r) => r.verdict)]);
  return {
    audit: { ...search.audit, verdict, regressions },
    diagnosis: search.diagnosis,
    regressionDiagnoses,
  };
}

/** The property search: a shrunk counterexample, or none. */
async function searchCounterexample(
  trainer: Trainer,
  options: AuditOptions,
): Promise<{ audit: Omit<TrainerAudit, "regressions">; diagnosis: CheckDiagnosis | null }> {
  let lastFailure: CheckDiagnosis | null = null;
  let cases = 0;
  let failed = false;
  let errored = false;
  const property = fc.asyncProperty(scenarioArbitrary(options.space), async (scenario) => {
    // A trainer that cannot run is not shrunk: every further case would cost a crash or a timeout.
    if (errored) return true;
    cases++;
    const diagnosis = await runCheck(trainer, scenario, options.runOptions);
    const verdict = diagnosis.result.verdict;
    options.onProgress?.({
      trainer: trainer.name,
      phase: failed ? "shrink" : "search",
      cases,
      runs: options.runs,
      verdict,
    });
    if (verdict === "pass") return true;
    // While shrinking a refuted property, a case the trainer cannot run is no smaller counterexample.
    if (failed && verdict === "error") return true;
    if (!failed) [failed, cases, errored] = [true, 0, verdict === "error"];
    lastFailure = diagnosis;
    return false;
  });
  const details = await fc.check(property, {
    numRuns: options.runs,
    seed: options.seed,
    ...(options.path === undefined ? {} : { path: options.path }),
    endOnFailure: false,
  });
  const info = trainer.info?.();
  const base = {
    trainer: trainer.name,
    ...(info ? { trainerInfo: info } : {}),
    casesRun: details.numRuns,
  };
  let failure = lastFailure as CheckDiagnosis | null;
  if (!details.failed || !details.counterexample || !failure) {
    if (details.failed && details.errorInstance) {
      return {
        audit: {
          ...base,
          verdict: "error",
          counterexample: null,
          error: String(details.errorInstance),
        },
        diagnosis: null,
      };
    }
    return { audit: { ...base, verdict: "pass", counterexample: null }, diagnosis: null };
  }
  const [scenario] = details.counterexample;
  if (failure.result.scenario !== scenario)
    failure = await runCheck(trainer, scenario, options.runOptions);
  return {
    audit: {
      ...base,
      verdict: failure.result.verdict,
      counterexample: {
        scenario,
        seed: details.seed,
        path: details.counterexamplePath ?? "",
        shrinks: details.numShrinks,
        replay: replayCommand(trainer.name, scenario, options.replayFlags),
        result: failure.result,
      },
    },
    diagnosis: failure,
  };
}
