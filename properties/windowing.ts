import type { Expectation } from "../reference/expectation.js";
import type { Trace } from "../trainers/contract/trace.js";
import type { AppliedWeights } from "./applied-weights.js";
import { LIST_CAP } from "./coverage.js";
import type { WindowingResult, WindowMismatch } from "./result.js";
import { countOf, samplesWord } from "./sample-ranges.js";

function irregularMicroBatches(
  trace: Trace,
  expectation: Expectation,
): WindowingResult["irregularMicroBatches"] {
  const { batchSize, dropLast } = trace.scenario;
  const irregular: WindowingResult["irregularMicroBatches"] = [];
  for (const plan of expectation.plans) {
    if (plan.source !== "observed") continue;
    plan.microBatches.forEach((mb, position) => {
      const last = position === plan.microBatches.length - 1;
      const fits =
        mb.length === batchSize || (last && !dropLast && mb.length < batchSize && mb.length > 0);
      if (!fits && irregular.length < LIST_CAP)
        irregular.push({ epoch: plan.epoch, position, size: mb.length });
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
  const stepKeys = new Map<string, number>();
  applied.byStep.forEach((entries, step) => {
    if (entries.length === 0) return;
    const key = entries
      .map((e) => `${e.epoch}:${e.sample}`)
      .sort()
      .join(",");
    stepKeys.set(key, step);
  });
  const mismatches: WindowMismatch[] = [];
  let expectedSteps = 0;
  for (const plan of expectation.plans) {
    for (const window of plan.windows) {
      expectedSteps++;
      const key = window.samples
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
      if (mismatches.length < LIST_CAP)
        mismatches.push({
          epoch: window.epoch,
          window: window.index,
          microBatches: window.microBatches,
          expectedSamples: window.samples.length,
          step,
          stepSamples: step === null ? 0 : (applied.byStep[step]?.length ?? 0),
          sharedSamples,
        });
    }
  }
  const appliedSteps = trace.steps.filter((s) => !s.skipped).length;
  const skippedSteps = trace.steps.length - appliedSteps;
  const irregular = irregularMicroBatches(trace, expectation);
  const ok = mismatches.length === 0 && irregular.length === 0 && appliedSteps === expectedSteps;
  return {
    ok,
    message: ok
      ? `${countOf(appliedSteps, "applied step")}, one per window of ${countOf(trace.scenario.accumulation, "micro-batch")} (the epoch's last holds the rest)${skippedSteps > 0 ? `; ${countOf(skippedSteps, "skipped step")} redone` : ""}`
      : describeFailure(trace, expectedSteps, appliedSteps, mismatches, irregular),
    expectedSteps,
    appliedSteps,
    skippedSteps,
    mismatches,
    irregularMicroBatches: irregular,
  };
}

function describeFailure(
  trace: Trace,
  expectedSteps: number,
  appliedSteps: number,
  mismatches: WindowMismatch[],
  irregular: WindowingResult["irregularMicroBatches"],
): string {
  const parts: string[] = [];
  if (appliedSteps !== expectedSteps)
    parts.push(`expected ${countOf(expectedSteps, "applied step")}, saw ${appliedSteps}`);
  const m = mismatches[0];
  if (m) {
    const mbs =
      m.microBatches[0] === m.microBatches[1]
        ? `micro-batch ${m.microBatches[0] + 1}`
        : `micro-batches ${m.microBatches[0] + 1}–${m.microBatches[1] + 1}`;
    const held =
      m.step === null
        ? "no applied step holds any of them"
        : `step ${m.step + 1} (epoch ${(trace.steps[m.step]?.epoch ?? 0) + 1}) holds ${m.sharedSamples} of them among ${m.stepSamples}`;
    parts.push(
      `epoch ${m.epoch + 1} window ${m.window + 1} (${mbs}, ${samplesWord(m.expectedSamples)}) is not one applied step: ${held}${mismatches.length > 1 ? ` (${countOf(mismatches.length, "window")} differ)` : ""}`,
    );
  }
  const i = irregular[0];
  if (i)
    parts.push(
      `epoch ${i.epoch + 1} micro-batch ${i.position + 1} holds ${i.size} samples, expected ${trace.scenario.batchSize}`,
    );
  return parts.join("; ");
}
