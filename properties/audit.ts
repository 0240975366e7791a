import fc from "fast-check";
import type { Scenario } from "../trainers/contract/scenario.js";
import type { RunOptions, Trainer } from "../trainers/contract/trainer.js";
import { DEFAULT_SPACE, type ScenarioSpace, scenarioArbitrary } from "./arbitraries.js";
import type {
  CheckError,
  CheckErrorCause,
  CheckJudgement,
  CheckOutcome,
  SearchOutcome,
  TrainerAuditOutcome,
  Verdict,
} from "./outcome.js";
import { type AuditProgress, type CaseProgress, caseRunOptions } from "./progress.js";
import { runCheck } from "./run-check.js";

export type { AuditProgress, CaseProgress } from "./progress.js";

export interface AuditOptions {
  /** Scenarios to generate per trainer. */
  runs: number;
  seed: number;
  /** fast-check replay path (with the seed of the failing audit). */
  path?: string;
  space?: Partial<ScenarioSpace>;
  /**
   * Fixed scenarios checked beside the search, e.g. {@link missionScenarios}. They are checked as
   * given: the space's pins do not reach them (`pinRegressions` applies pins where they fit).
   */
  regressions?: Scenario[];
  runOptions?: RunOptions;
  onProgress?: (progress: AuditProgress) => void;
  /** Where a running case's training stands (a trainer that reports it: the long case's progress line). */
  onCaseProgress?: (progress: CaseProgress) => void;
  /** Ends the audit early: no further case starts (the outcome is then incomplete). */
  signal?: AbortSignal;
  /**
   * Search cases run at once, up to what the trainer runs in parallel ({@link Trainer.concurrency});
   * default 1. The outcome is the same as with 1: the generated cases are checked ahead in
   * parallel, then the search reads them in order and shrinks one case at a time.
   */
  jobs?: number;
}

/**
 * A turn of the event loop. An in-process trainer settles its run without one, so an audit
 * takes one before every case: signal handlers (Ctrl-C) and timers run in between.
 */
function nextTurn(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/** A refuted property outranks a trainer that could not be run, which outranks a pass. */
export function worstVerdict(verdicts: readonly Verdict[]): Verdict {
  if (verdicts.includes("fail")) return "fail";
  return verdicts.includes("error") ? "error" : "pass";
}

/**
 * Audits a trainer: checks it on the fixed regression scenarios (once one times out, the rest are
 * not run, each an error that names the one that timed out), then runs a property search
 * over generated scenarios until one fails and lets fast-check shrink it to a minimal
 * counterexample. A trainer that cannot run ends its search at that case (search "error"),
 * unshrunk. Never throws for a trainer's failure.
 */
export async function auditTrainer(
  trainer: Trainer,
  options: AuditOptions,
): Promise<TrainerAuditOutcome> {
  const regressions: CheckOutcome[] = [];
  const scenarios = options.regressions ?? [];
  let timedOut: { scenario: Scenario; timeoutMs: number } | undefined;
  for (const scenario of scenarios) {
    if (options.signal?.aborted) break;
    // A trainer that hung on one known counterexample would most likely hang on the next too:
    // the rest are not run (each says why), so a hung trainer costs one timeout here, not one each.
    if (timedOut) {
      regressions.push(skippedAfterTimeout(trainer, scenario, timedOut));
      continue;
    }
    const progress = {
      trainer: trainer.name,
      phase: "regressions" as const,
      cases: regressions.length + 1,
      runs: scenarios.length,
    };
    options.onProgress?.({ ...progress, state: "started" });
    await nextTurn();
    const runOptions = caseRunOptions(options.runOptions, progress, options.onCaseProgress);
    const check = await runCheck(trainer, scenario, runOptions);
    regressions.push(check);
    options.onProgress?.({ ...progress, state: "finished", verdict: check.verdict });
    const timeoutMs = check.verdict === "error" ? timeoutOf(check.error) : undefined;
    if (timeoutMs !== undefined) timedOut = { scenario, timeoutMs };
  }
  const space = await spaceFor(trainer, options.space);
  const search = await searchCounterexample(trainer, { ...options, space });
  const checks = [
    ...regressions,
    ...(search.kind === "refuted" ? [search.counterexample.check] : []),
  ];
  if (search.kind === "error") checks.push(search.check);
  const info = trainer.info?.() ?? checks.find((c) => c.trainerInfo)?.trainerInfo;
  return {
    trainer: trainer.name,
    ...(info ? { trainerInfo: info } : {}),
    verdict: worstVerdict([searchVerdict(search), ...regressions.map((r) => r.verdict)]),
    worldSizes: [space.minWorldSize, space.maxWorldSize],
    search,
    regressions,
  };
}

/** The timeout a check error reports the run exceeded, if that is how it ended. */
function timeoutOf(cause: CheckErrorCause): number | undefined {
  return cause.kind === "trainer" ? cause.timeoutMs : undefined;
}

/** A known counterexample not run because an earlier one of the audit timed out. */
function skippedAfterTimeout(
  trainer: Trainer,
  scenario: Scenario,
  timedOut: { scenario: Scenario; timeoutMs: number },
): CheckError {
  const info = trainer.info?.();
  return {
    trainer: trainer.name,
    ...(info ? { trainerInfo: info } : {}),
    scenario,
    verdict: "error",
    error: { kind: "skipped", timedOut: timedOut.scenario, timeoutMs: timedOut.timeoutMs },
  };
}

/**
 * The search space for a trainer: world sizes above what it runs are not drawn, unless the
 * space asks for them at least (then the trainer's refusal is what the audit reports); under
 * step semantics, only the fields it honours are drawn (a pinned one is still set).
 */
async function spaceFor(
  trainer: Trainer,
  space: Partial<ScenarioSpace> = {},
): Promise<ScenarioSpace> {
  const full = { ...DEFAULT_SPACE, ...space };
  // A trainer that cannot say (its worker does not start) is searched as one process: the
  // search then reports why it cannot run.
  const runs = (await trainer.maxWorldSize?.().catch(() => 1)) ?? 1;
  const stepFields = full.stepSemantics
    ? await trainer.stepFields?.().catch(() => undefined)
    : undefined;
  return {
    ...full,
    maxWorldSize: Math.max(full.minWorldSize, Math.min(full.maxWorldSize, runs)),
    ...(stepFields ? { stepFields } : {}),
  };
}

/** The verdict a search stands for. */
export function searchVerdict(search: SearchOutcome): Verdict {
  return search.kind === "passed" ? "pass" : search.kind === "refuted" ? "fail" : "error";
}

/** Cases the search may run at once for this trainer. */
function jobsFor(trainer: Trainer, options: AuditOptions): number {
  return Math.max(1, Math.min(options.jobs ?? 1, trainer.concurrency?.() ?? 1));
}

/**
 * Checks the search's generated cases, in the order fast-check draws them (`fc.sample` with the
 * seed), `jobs` at a time, until one does not pass; every case before it is checked. Returns the
 * outcomes by scenario, for the search to read instead of running those cases again.
 */
async function checkAhead(
  options: AuditOptions,
  jobs: number,
  onCase: (scenario: Scenario) => Promise<CheckOutcome>,
): Promise<Map<string, CheckOutcome>> {
  const scenarios = fc.sample(scenarioArbitrary(options.space), {
    numRuns: options.runs,
    seed: options.seed,
  });
  const outcomes = new Map<string, CheckOutcome>();
  let next = 0;
  let firstNotPassed = Number.POSITIVE_INFINITY;
  const lane = async () => {
    while (next < scenarios.length && next < firstNotPassed && !options.signal?.aborted) {
      const index = next++;
      const scenario = scenarios[index] as Scenario;
      const check = await onCase(scenario);
      outcomes.set(JSON.stringify(scenario), check);
      if (check.verdict !== "pass") firstNotPassed = Math.min(firstNotPassed, index);
    }
  };
  await Promise.all(Array.from({ length: jobs }, lane));
  return outcomes;
}

/** Thrown by the search's property once the audit is interrupted (see {@link AuditOptions.signal}). */
class SearchInterrupted extends Error {
  override name = "SearchInterrupted";
}

/** The property search: a shrunk counterexample, the case the trainer could not run, or none. */
async function searchCounterexample(
  trainer: Trainer,
  options: AuditOptions,
): Promise<SearchOutcome> {
  let firstError: CheckError | null = null;
  let lastFailure: CheckJudgement | null = null;
  let cases = 0;
  const runCase = async (scenario: Scenario): Promise<CheckOutcome> => {
    await nextTurn();
    cases++;
    const progress = {
      trainer: trainer.name,
      phase: lastFailure ? ("shrink" as const) : ("search" as const),
      cases,
      runs: options.runs,
    };
    options.onProgress?.({ ...progress, state: "started" });
    const runOptions = caseRunOptions(options.runOptions, progress, options.onCaseProgress);
    const check = await runCheck(trainer, scenario, runOptions);
    options.onProgress?.({ ...progress, state: "finished", verdict: check.verdict });
    return check;
  };
  const jobs = jobsFor(trainer, options);
  const ahead =
    jobs > 1 && options.path === undefined
      ? await checkAhead(options, jobs, runCase)
      : new Map<string, CheckOutcome>();
  const shrunk = new Map<string, CheckOutcome>();
  const property = fc.asyncProperty(scenarioArbitrary(options.space), async (scenario) => {
    // A trainer that cannot run is not shrunk: every further case would cost a crash or a timeout.
    // An interrupted audit runs no further case: while shrinking, every further candidate passes;
    // while searching, the property throws, so that fast-check stops drawing the remaining runs
    // (a million runs take it about a minute to draw) and shrinks only that throw, case-free.
    if (firstError) return true;
    if (options.signal?.aborted) {
      if (lastFailure) return true;
      throw new SearchInterrupted();
    }
    const key = JSON.stringify(scenario);
    const known = ahead.get(key) ?? shrunk.get(key);
    ahead.delete(key);
    const check = known ?? (await runCase(scenario));
    // A shrink that changes only fields the scenario does not use (the loss-token pattern under
    // sample weighting) gives a scenario already checked: it is not run again.
    if (lastFailure) shrunk.set(key, check);
    if (check.verdict === "pass") return true;
    if (check.verdict === "error") {
      // While shrinking a refuted property, a case the trainer cannot run is no smaller counterexample.
      if (!lastFailure) firstError = check;
      return lastFailure !== null;
    }
    if (!lastFailure) cases = 0;
    lastFailure = check;
    return false;
  });
  const details = await fc.check(property, {
    numRuns: options.runs,
    seed: options.seed,
    ...(options.path === undefined ? {} : { path: options.path }),
    endOnFailure: false,
  });
  const casesRun = details.numRuns;
  const error = firstError as CheckError | null;
  if (error) return { kind: "error", casesRun, check: error };
  // Interrupted before any failure: the cases run passed, and fast-check's counterexample is the throw's.
  if (details.errorInstance instanceof SearchInterrupted && lastFailure === null)
    return { kind: "passed", casesRun: cases };
  if (!details.failed) return { kind: "passed", casesRun };
  if (!details.counterexample)
    throw (
      details.errorInstance ?? new Error("fast-check: a failed search without a counterexample")
    );
  const [scenario] = details.counterexample;
  let failure = lastFailure as CheckJudgement | null;
  // fast-check reports the last failing case it saw; check it again if it is not the one kept.
  if (!failure || JSON.stringify(failure.scenario) !== JSON.stringify(scenario)) {
    const again = await runCheck(trainer, scenario, options.runOptions);
    if (again.verdict === "error") return { kind: "error", casesRun, check: again };
    if (again.verdict === "fail") failure = again;
  }
  if (!failure) return { kind: "passed", casesRun };
  return {
    kind: "refuted",
    casesRun,
    counterexample: {
      seed: details.seed,
      path: details.counterexamplePath ?? "",
      shrinks: details.numShrinks,
      check: failure,
    },
  };
}
