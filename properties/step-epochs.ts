import type { Trace } from "../trainers/contract/trace.js";
import type { AppliedWeights } from "./applied-weights.js";

/**
 * The epoch each step call belongs to, read from what it applied rather than from the epoch tag
 * the model carried when `step()` ran: a loop that fetches its next micro-batch (and with it the
 * next epoch's tag) before it steps still steps for the samples it accumulated.
 *
 * - An applied step belongs to the latest epoch among the occurrences it applied: a sample of an
 *   earlier epoch in it is leaked, one of that epoch is where it should be.
 * - A step that applied nothing (skipped, or empty) belongs to the epoch of the last forward pass
 *   its rank ran before it; without one, to the previous step's epoch; without that, to its tag.
 *
 * Every result lies in 0 .. epochs - 1, so no message names an epoch the scenario does not have.
 */
export function stepEpochs(trace: Trace, applied: AppliedWeights): number[] {
  const last = trace.scenario.epochs - 1;
  const lastFed = lastForwardEpochBefore(trace);
  const epochs: number[] = [];
  trace.steps.forEach((step, index) => {
    let latest = -1;
    for (const entry of applied.byStep[index] ?? []) if (entry.epoch > latest) latest = entry.epoch;
    const fallback = lastFed[index] ?? epochs[index - 1] ?? step.epoch;
    epochs.push(Math.min(Math.max(latest >= 0 ? latest : fallback, 0), last));
  });
  return epochs;
}

/** For each of rank 0's step calls, the epoch tag of the last forward pass before it (undefined for none). */
function lastForwardEpochBefore(trace: Trace): Array<number | undefined> {
  const before = new Array<number | undefined>(trace.steps.length);
  for (const mb of trace.microBatches ?? [])
    if ((mb.rank ?? 0) === 0 && mb.stepsBefore < before.length) before[mb.stepsBefore] = mb.epoch;
  // A step with no forward pass just before it follows the last one fed before an earlier step.
  let carried: number | undefined;
  for (let i = 0; i < before.length; i++) {
    if (before[i] === undefined) before[i] = carried;
    carried = before[i];
  }
  return before;
}

/**
 * The trace with every step's (and every replica's step's) `epoch` replaced by
 * {@link stepEpochs}: what the properties and reports read as the step's epoch.
 */
export function withStepEpochs(trace: Trace, epochs: readonly number[]): Trace {
  const relabel = (steps: Trace["steps"]) =>
    steps.map((step, index) => {
      const epoch = epochs[index] ?? Math.min(step.epoch, trace.scenario.epochs - 1);
      return epoch === step.epoch ? step : { ...step, epoch };
    });
  return {
    ...trace,
    steps: relabel(trace.steps),
    ...(trace.replicas
      ? { replicas: trace.replicas.map((r) => ({ ...r, steps: relabel(r.steps) })) }
      : {}),
  };
}
