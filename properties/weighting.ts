import { distance, windowBodyGradient } from "../reference/body-gradient.js";
import type { Expectation } from "../reference/expectation.js";
import type { Dataset } from "../trainers/contract/probe.js";
import { fromWireFloat, type Trace } from "../trainers/contract/trace.js";
import type { AppliedWeights } from "./applied-weights.js";
import type { WeightingResult, WorstWeight } from "./result.js";
import type { StepWindow } from "./step-windows.js";
import { largestWindowWithDetectableOffByOne, type Tolerance } from "./tolerance.js";

/** Weighting with per-step errors, for reports. */
export interface WeightingCheck {
  result: WeightingResult;
  /** Largest weight relative error per step (0 for a step with no weights). */
  stepWeightError: number[];
  /** Body relative error per step; null without a body, for skipped steps, or unmatched ones. */
  stepBodyError: Array<number | null>;
}

const fmt = (x: number) => (Number.isFinite(x) ? Number(x.toPrecision(4)).toString() : String(x));
const reciprocal = (w: number) => (w > 0 && Number.isFinite(w) ? ` (1/${fmt(1 / w)})` : "");

function relativeWeightError(weight: number, expected: number, windowSize: number): number {
  if (!Number.isFinite(weight)) return Number.POSITIVE_INFINITY;
  if (windowSize === 0) return Math.abs(weight) > 0 ? Number.POSITIVE_INFINITY : 0;
  return Math.abs(weight - expected) * windowSize;
}

function bodyErrors(trace: Trace, dataset: Dataset, matches: StepWindow[]): Array<number | null> {
  const model = trace.scenario.model;
  if (model === "fingerprint") return trace.steps.map(() => null);
  return trace.steps.map((step, index) => {
    const window = matches[index]?.window;
    if (step.skipped || !step.body || !window) return null;
    const params = step.body.parametersBefore.map(fromWireFloat);
    const applied = step.body.gradient.map(fromWireFloat);
    if (![...params, ...applied].every(Number.isFinite)) return Number.POSITIVE_INFINITY;
    const expected = windowBodyGradient(
      model,
      params,
      dataset.features,
      dataset.labels,
      window.samples,
    );
    const scale = expected.meanSampleNorm > 0 ? expected.meanSampleNorm : 1;
    return distance(applied, expected.gradient) / scale;
  });
}

/**
 * Weighting: each applied step must equal the sample-count-weighted full-batch gradient of its
 * window. Every occurrence's fingerprint weight is compared with 1/|W|; the body gradient is
 * compared with the float64 oracle at the parameters before the step.
 */
export function checkWeighting(
  trace: Trace,
  expectation: Expectation,
  applied: AppliedWeights,
  matches: StepWindow[],
  dataset: Dataset,
  tolerance: Tolerance,
): WeightingCheck {
  let worst: WorstWeight | null = null;
  const stepWeightError = applied.byStep.map((entries) => {
    let stepMax = 0;
    for (const e of entries) {
      const window = expectation.windowOf[e.epoch]?.[e.sample];
      const windowSize = window?.samples.length ?? 0;
      const expectedWeight = expectation.expectedWeight[e.epoch]?.[e.sample] ?? 0;
      const relError = relativeWeightError(e.weight, expectedWeight, windowSize);
      stepMax = Math.max(stepMax, relError);
      if (!worst || relError > worst.relError || Number.isNaN(e.weight))
        worst = {
          epoch: e.epoch,
          sample: e.sample,
          step: e.step,
          stepEpoch: trace.steps[e.step]?.epoch ?? -1,
          weight: e.weight,
          expectedWeight,
          windowSize,
          relError,
        };
    }
    return stepMax;
  });
  const stepBodyError = bodyErrors(trace, dataset, matches);
  const maxRelError = stepWeightError.reduce((a, b) => Math.max(a, b), 0);
  const bodyValues = stepBodyError.filter((x): x is number => x !== null);
  const bodyMaxRelError =
    trace.scenario.model === "fingerprint" ? null : bodyValues.reduce((a, b) => Math.max(a, b), 0);
  const bodyWorstStep = bodyMaxRelError === null ? null : stepBodyError.indexOf(bodyMaxRelError);
  const weightsOk = maxRelError <= tolerance.weight;
  const bodyOk = bodyMaxRelError === null || bodyMaxRelError <= tolerance.body;
  const w = worst as WorstWeight | null;
  const parts: string[] = [];
  if (!weightsOk && w) {
    const given = Number.isFinite(w.weight)
      ? `${fmt(w.weight)}${reciprocal(w.weight)}`
      : String(w.weight);
    const where =
      w.windowSize > 0
        ? `its ${w.windowSize}-sample window should give 1/${w.windowSize}`
        : "it belongs to no window";
    parts.push(
      `step ${w.step + 1} (epoch ${w.stepEpoch + 1}) gave sample ${w.sample} of epoch ${w.epoch + 1} weight ${given}; ${where}: relative error ${fmt(w.relError)} > tolerance ${tolerance.weight}`,
    );
  }
  if (!bodyOk && bodyWorstStep !== null && bodyMaxRelError !== null)
    parts.push(
      `body gradient of step ${bodyWorstStep + 1} is off the float64 oracle by relative error ${fmt(bodyMaxRelError)} > tolerance ${tolerance.body}`,
    );
  const ok = weightsOk && bodyOk;
  const detect = `detects weight errors above ${tolerance.weight} (an off-by-one sample count in windows of up to ${largestWindowWithDetectableOffByOne(tolerance.weight)} samples)`;
  const anyApplied = stepWeightError.some((_, index) => (applied.byStep[index]?.length ?? 0) > 0);
  const within = anyApplied
    ? `every applied weight within ${fmt(maxRelError)} of 1/|W|${bodyMaxRelError === null ? "" : `, body within ${fmt(bodyMaxRelError)} of the oracle`}`
    : "no step applied any weight, so none is off";
  const message = ok ? `${within}; ${detect}` : parts.join("; ");
  return {
    result: {
      ok,
      message,
      maxRelError,
      tolerance: tolerance.weight,
      detectableRelError: tolerance.weight,
      worst: w,
      bodyMaxRelError,
      bodyTolerance: tolerance.body,
      bodyWorstStep,
    },
    stepWeightError,
    stepBodyError,
  };
}
