import { FINGERPRINT_COEFFICIENT, occurrenceIndex } from "../../trainers/contract/probe.js";
import type { Step, StepUpdate, Trace } from "../../trainers/contract/trace.js";

/**
 * The `update` float32 plain SGD gives a step: θ − θ' with θ' = fp32(θ − fp32(fp32(lr) x g)), each
 * fingerprint entry's θ taken from `phi` (float32 values by flat occurrence index, updated here)
 * and the body's from the step's parameters before it.
 */
function sgdUpdate(step: Step, phi: Float64Array, trace: Trace, learningRate: number): StepUpdate {
  const lr = Math.fround(learningRate);
  const { epochs, datasetSize } = trace.scenario;
  const descend = (theta: number, g: number) =>
    Math.fround(theta) - Math.fround(Math.fround(theta) - Math.fround(lr * Math.fround(g)));
  const fingerprint = step.fingerprint.weights.map((weight, k) => {
    const at = occurrenceIndex(
      step.fingerprint.epochs[k] ?? 0,
      step.fingerprint.samples[k] ?? 0,
      epochs,
      datasetSize,
    );
    const change = descend(phi[at] ?? 0, weight * FINGERPRINT_COEFFICIENT);
    phi[at] = Math.fround((phi[at] ?? 0) - change);
    return change;
  });
  const body = step.body
    ? step.body.gradient.map((g, j) => descend(step.body?.parametersBefore[j] ?? 0, g))
    : null;
  return { rule: "sgd", learningRate, fingerprint, body, movedWithoutGradient: 0 };
}

/**
 * The trace with every applied step's `update` as float32 plain SGD with `learningRate` (the
 * scenario's by default; a function of the applied step's index, for a schedule) applies its gradient, the fingerprint replayed from 0: what a recorder
 * reads from a correct torch.optim.SGD step.
 */
export function withSgdUpdates(
  trace: Trace,
  learningRate: number | ((appliedStep: number) => number) = trace.scenario.learningRate,
): Trace {
  const phi = new Float64Array(trace.scenario.epochs * trace.scenario.datasetSize);
  const rate = typeof learningRate === "number" ? () => learningRate : learningRate;
  let applied = 0;
  return {
    ...trace,
    steps: trace.steps.map((step) =>
      step.skipped ? step : { ...step, update: sgdUpdate(step, phi, trace, rate(applied++)) },
    ),
  };
}

/** The trace with step `index`'s update multiplied by `factor` (0: the step moved nothing). */
export function scaleUpdate(trace: Trace, index: number, factor: number): Trace {
  const steps = trace.steps.map((step, k) => {
    const update = step.update;
    if (k !== index || !update) return step;
    return {
      ...step,
      update: {
        ...update,
        fingerprint: update.fingerprint.map((c) => c * factor),
        body: update.body?.map((c) => c * factor) ?? null,
      },
    };
  });
  return { ...trace, steps };
}

/** The trace with step `index`'s update applied again right after it, outside any step. */
export function repeatUpdateAfter(trace: Trace, index: number): Trace {
  const step = trace.steps[index];
  if (!step?.update) throw new Error(`step ${index} has no update`);
  const change = {
    rank: 0,
    since: index + 1,
    stepsBefore: index + 1,
    fingerprint: {
      epochs: [...step.fingerprint.epochs],
      samples: [...step.fingerprint.samples],
      changes: [...step.update.fingerprint],
    },
    body: step.update.body ? [...step.update.body] : null,
  };
  return { ...trace, outsideSteps: [...(trace.outsideSteps ?? []), change] };
}
