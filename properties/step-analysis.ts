import type { Trace } from "../trainers/contract/trace.js";
import type { AppliedWeights } from "./applied-weights.js";
import type { StepAnalysis, StepPart, WindowRef } from "./outcome.js";
import type { WeightingCheck } from "./weighting.js";

/** Forward passes (micro-batches) of rank 0 between each step call and the one before it. */
export function forwardPassesBeforeSteps(
  microBatches: ReadonlyArray<{ stepsBefore: number; rank?: number | undefined }>,
  stepCalls: number,
): number[] {
  const fed = new Array<number>(stepCalls).fill(0);
  for (const mb of microBatches)
    if ((mb.rank ?? 0) === 0 && mb.stepsBefore < stepCalls)
      fed[mb.stepsBefore] = (fed[mb.stepsBefore] ?? 0) + 1;
  return fed;
}

/**
 * What the oracle found per step call, for reports and advice: the window it was matched to
 * (`windows[i]`), its parts (`parts[i]`), its micro-batches and the weighting figures.
 */
export function analyseSteps(
  trace: Trace,
  applied: AppliedWeights,
  weighting: WeightingCheck,
  windows: ReadonlyArray<WindowRef | null>,
  parts: readonly StepPart[][],
  fed: readonly number[],
): StepAnalysis[] {
  return trace.steps.map((step, index) => ({
    step: index,
    epoch: step.epoch,
    skipped: step.skipped,
    lossScale: step.lossScale ?? null,
    samples: applied.byStep[index]?.length ?? 0,
    microBatches: fed[index] ?? 0,
    window: windows[index] ?? null,
    weightRelError: weighting.stepWeightError[index] ?? 0,
    weightSpread: weighting.stepWeightSpread[index] ?? 0,
    bodyRelError: weighting.stepBodyError[index] ?? null,
    parts: parts[index] ?? [],
    weightFactor: weighting.stepWeightFactor[index] ?? null,
    bodyFactor: weighting.stepBodyFactor[index] ?? null,
    ownBatch: weighting.stepOwnBatch[index] ?? false,
    clipFactor: weighting.stepClip[index] ?? 1,
  }));
}
