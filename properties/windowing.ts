import type { Expectation } from "../reference/expectation.js";
import { occurrenceIndex } from "../trainers/contract/probe.js";
import type { Trace } from "../trainers/contract/trace.js";
import type { AppliedWeights } from "./applied-weights.js";
import type { AppliedEntry, WindowingFinding, WindowingResult } from "./outcome.js";

/** Micro-batches whose size is not B; each rank's last of an epoch may be smaller (not with drop_last). */
function irregularMicroBatches(trace: Trace, expectation: Expectation): WindowingFinding[] {
  const { batchSize, dropLast } = trace.scenario;
  const irregular: WindowingFinding[] = [];
  for (const plan of expectation.plans) {
    if (plan.source !== "observed") continue;
    plan.byRank.forEach((mbs, rank) => {
      mbs.forEach((mb, position) => {
        const last = position === mbs.length - 1;
        const fits =
          mb.length === batchSize || (last && !dropLast && mb.length < batchSize && mb.length > 0);
        if (!fits)
          irregular.push({
            kind: "irregular-micro-batch",
            epoch: plan.epoch,
            rank,
            position,
            size: mb.length,
          });
      });
    });
  }
  return irregular;
}

/**
 * An occurrence as one number, its {@link occurrenceIndex}; NaN for one outside the scenario, so
 * that a set holding it equals no window's.
 */
function occurrenceKey(epoch: number, sample: number, scenario: Trace["scenario"]): number {
  const index = occurrenceIndex(epoch, sample, scenario.epochs, scenario.datasetSize);
  return index < 0 ? Number.NaN : index;
}

function sameKeys(a: Float64Array, b: Float64Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** The applied steps' occurrence multisets (sorted keys), looked up by their smallest key. */
class StepOccurrenceSets {
  private readonly byLowest = new Map<number, Float64Array[]>();

  constructor(byStep: readonly AppliedEntry[][], scenario: Trace["scenario"]) {
    for (const entries of byStep) {
      if (entries.length === 0) continue;
      const keys = new Float64Array(entries.length);
      entries.forEach((e, i) => {
        keys[i] = occurrenceKey(e.epoch, e.sample, scenario);
      });
      keys.sort();
      const lowest = keys[0] as number;
      const sets = this.byLowest.get(lowest);
      if (sets) sets.push(keys);
      else this.byLowest.set(lowest, [keys]);
    }
  }

  /** Whether some step's occurrences are exactly these sorted keys. */
  has(keys: Float64Array): boolean {
    const sets = keys.length === 0 ? undefined : this.byLowest.get(keys[0] as number);
    return sets?.some((set) => sameKeys(set, keys)) ?? false;
  }
}

/**
 * Windowing: one applied step per window, K micro-batches per window except the epoch's last,
 * which holds what is left. Each expected window must be exactly the occurrence set of one
 * applied step.
 */
export function checkWindowing(
  trace: Trace,
  expectation: Expectation,
  applied: AppliedWeights,
): WindowingResult {
  const stepSets = new StepOccurrenceSets(applied.byStep, trace.scenario);
  const unmatched: WindowingFinding[] = [];
  let expectedSteps = 0;
  const weighted = (s: number) => (expectation.units[s] ?? 0) > 0;
  for (const plan of expectation.plans) {
    for (const window of plan.windows) {
      expectedSteps++;
      // A window without loss tokens is due a zero step: no fingerprint weight tells which it is.
      if (window.units === 0) continue;
      const samples = window.samples.filter(weighted);
      const keys = new Float64Array(samples.length);
      samples.forEach((s, i) => {
        keys[i] = occurrenceKey(window.epoch, s, trace.scenario);
      });
      if (stepSets.has(keys.sort())) continue;
      const sharedBy = new Map<number, number>();
      for (const s of window.samples)
        for (const e of applied.occurrence(window.epoch, s))
          sharedBy.set(e.step, (sharedBy.get(e.step) ?? 0) + 1);
      let step: number | null = null;
      let sharedSamples = 0;
      for (const [candidate, shared] of sharedBy)
        if (shared > sharedSamples) [step, sharedSamples] = [candidate, shared];
      unmatched.push({
        kind: "unmatched-window",
        epoch: window.epoch,
        window: window.index,
        microBatches: window.microBatches,
        expectedSamples: window.samples.filter(weighted).length,
        step,
        stepEpoch: step === null ? null : (trace.steps[step]?.epoch ?? null),
        stepSamples: step === null ? 0 : (applied.byStep[step]?.length ?? 0),
        sharedSamples,
      });
    }
  }
  const appliedSteps = trace.steps.filter((s) => !s.skipped).length;
  const findings: WindowingFinding[] = [
    ...(appliedSteps === expectedSteps
      ? []
      : [{ kind: "step-count" as const, expected: expectedSteps, applied: appliedSteps }]),
    ...unmatched,
    ...irregularMicroBatches(trace, expectation),
  ];
  return {
    ok: findings.length === 0,
    expectedSteps,
    appliedSteps,
    skippedSteps: trace.steps.length - appliedSteps,
    findings,
  };
}
