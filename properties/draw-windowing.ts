import type { DrawPlan } from "../reference/draw-plan.js";
import type { Trace } from "../trainers/contract/trace.js";
import type { AppliedWeights } from "./applied-weights.js";
import type { DrawAttribution } from "./draw-attribution.js";
import type { WindowingFinding, WindowingResult } from "./outcome.js";

/**
 * Windowing of a run that draws with replacement: one applied step per K drawn micro-batches,
 * `steps` of them. The j-th applied step must hold exactly window j's samples (those with loss
 * units); windows the run never drew are reported together, and so are micro-batches drawn beyond
 * steps x K; every micro-batch must hold B draws.
 */
export function checkDrawWindowing(
  trace: Trace,
  plan: DrawPlan,
  applied: AppliedWeights,
  attribution: DrawAttribution,
): WindowingResult {
  const { accumulation: k, batchSize } = trace.scenario;
  const appliedSteps: number[] = [];
  trace.steps.forEach((step, index) => {
    if (!step.skipped) appliedSteps.push(index);
  });
  const findings: WindowingFinding[] = [];
  if (appliedSteps.length !== plan.steps)
    findings.push({ kind: "step-count", expected: plan.steps, applied: appliedSteps.length });
  const scenarioWindows = plan.windows.filter((w) => !w.extra);
  const short = scenarioWindows.filter((w) => w.drawn < k);
  const [firstShort, lastShort] = [short[0], short[short.length - 1]];
  if (firstShort && lastShort) {
    const missing = short.reduce((n, w) => n + k - w.drawn, 0);
    findings.push({
      kind: "unproduced-windows",
      epoch: 0,
      windows: [firstShort.index, lastShort.index],
      microBatches: missing,
      producedMicroBatches: Math.min(plan.microBatches.length, plan.steps * k),
      samples: missing * batchSize,
    });
  }
  const weighted = (s: number) => (plan.units[s] ?? 0) > 0;
  for (const window of scenarioWindows) {
    if (window.drawn === 0 || window.units === 0) continue;
    const step = appliedSteps[window.index] ?? null;
    const expected = new Set(window.samples.filter(weighted));
    const entries = step === null ? [] : (applied.byStep[step] ?? []);
    const shared = entries.filter((e) => expected.has(e.sample)).length;
    if (step !== null && shared === expected.size && entries.length === expected.size) continue;
    findings.push({
      kind: "unmatched-window",
      epoch: 0,
      window: window.index,
      microBatches: window.microBatches,
      expectedSamples: expected.size,
      step,
      stepEpoch: step === null ? null : 0,
      stepSamples: entries.length,
      sharedSamples: shared,
    });
  }
  const beyond = plan.steps * k;
  if (plan.microBatches.length > beyond) {
    const extra = plan.windows.filter((w) => w.extra);
    const steps = new Set<number>();
    attribution.windowsOfEntry.forEach((entries, step) => {
      if (entries.some((windows) => windows.some((w) => w.extra))) steps.add(step);
    });
    findings.push({
      kind: "extra-draws",
      microBatches: [beyond, plan.microBatches.length - 1],
      draws: extra.reduce((n, w) => n + w.draws.length, 0),
      steps: [...steps].sort((a, b) => a - b),
    });
  }
  plan.microBatches.forEach((mb, position) => {
    if (mb.samples.length !== batchSize)
      findings.push({
        kind: "irregular-micro-batch",
        epoch: 0,
        rank: 0,
        position,
        size: mb.samples.length,
      });
  });
  return {
    ok: findings.length === 0,
    expectedSteps: plan.steps,
    appliedSteps: appliedSteps.length,
    skippedSteps: trace.steps.length - appliedSteps.length,
    findings,
  };
}
