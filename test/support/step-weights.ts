import type { Step } from "../../trainers/contract/trace.js";

/** A step's fingerprint weights keyed `epoch:sample` (a view for tests and debugging). */
export function stepWeights(step: Step): Map<string, number> {
  const weights = new Map<string, number>();
  step.fingerprint.samples.forEach((sample, k) => {
    weights.set(
      `${step.fingerprint.epochs[k]}:${sample}`,
      step.fingerprint.weights[k] ?? Number.NaN,
    );
  });
  return weights;
}

/** `epoch:sample` keys for samples from..to (inclusive) of an epoch. */
export function occurrences(epoch: number, from: number, to: number): string[] {
  return Array.from({ length: to - from + 1 }, (_, k) => `${epoch}:${from + k}`);
}
