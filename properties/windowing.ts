import type { Expectation } from "../reference/expectation.js";
import type { Trace } from "../trainers/contract/trace.js";
import type { AppliedWeights } from "./applied-weights.js";
import type { WindowingFinding, WindowingResult } from "./outcome.js";

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
 * Windowing: one applied step per window, K micro-batches per window except the epoch's last,
 * which holds what is left. Each expected window must be exactly the occurrence set of one
 * applied step.
 */
export function checkWindowing(
  trace: Trace,
  expectation: Expectation,
  applied: AppliedWeights,
): WindowingResult {
  const stepKeys = new Set<string>();
  for (const entries of applied.byStep) {
    if (entries.length === 0) continue;
    stepKeys.add(
      entries
        .map((e) => `${e.epoch}:${e.sample}`)
        .sort()
        .join(","),
    );
  }
  const unmatched: WindowingFinding[] = [];
  let expectedSteps = 0;
  const weighted = (s: number) => (expectation.units[s] ?? 0) > 0;
  for (const plan of expectation.plans) {
    for (const window of plan.windows) {
      expectedSteps++;
      // A window without loss tokens is due a zero step: no fingerprint weight tells which it is.
      if (window.units === 0) continue;
      const key = window.samples
        .filter(weighted)
        .map((s) => `${window.epoch}:${s}`)
        .sort()
        .join(",");
      if (stepKeys.has(key)) continue;
      const sharedBy = new Map<number, number>();
      for (const s of window.samples)
        for (const e of applied.byOccurrence[window.epoch]?.[s] ?? [])
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
