import { add, dot, multiply, subtract } from "mathjs";
import { FEATURES, HIDDEN } from "../trainers/contract/probe.js";
import type { Scenario } from "../trainers/contract/scenario.js";

/** A body model that has parameters (the fingerprint-only model has none). */
export type BodyModel = Exclude<Scenario["model"], "fingerprint">;

const sigmoid = (z: number): number =>
  z >= 0 ? 1 / (1 + Math.exp(-z)) : Math.exp(z) / (1 + Math.exp(z));

function logisticGradient(params: number[], x: number[], y: number): number[] {
  const w = params.slice(0, FEATURES);
  const b = params[FEATURES] ?? 0;
  const residual = sigmoid((dot(w, x) as number) + b) - y;
  return [...(multiply(residual, x) as number[]), residual];
}

function mlpGradient(params: number[], x: number[], y: number): number[] {
  let offset = 0;
  const take = (n: number) => {
    offset += n;
    return params.slice(offset - n, offset);
  };
  const w1: number[][] = Array.from({ length: HIDDEN }, () => take(FEATURES));
  const b1 = take(HIDDEN);
  const w2 = take(HIDDEN);
  const b2 = take(1)[0] ?? 0;
  const hidden = (add(multiply(w1, x), b1) as number[]).map(Math.tanh);
  const residual = sigmoid((dot(w2, hidden) as number) + b2) - y;
  const hiddenDelta = (multiply(residual, w2) as number[]).map(
    (d, j) => d * (1 - (hidden[j] ?? 0) ** 2),
  );
  const w1Gradient = hiddenDelta.flatMap((d) => multiply(d, x) as number[]);
  return [...w1Gradient, ...hiddenDelta, ...(multiply(residual, hidden) as number[]), residual];
}

/**
 * Gradient of one sample's body loss (binary cross-entropy with logits) with respect to the body
 * parameters, in float64, from the analytic formulas. Parameters are flattened as the probe
 * specifies (see trainers/contract/probe.ts).
 */
export function sampleBodyGradient(
  model: BodyModel,
  params: number[],
  x: number[],
  y: number,
): number[] {
  return model === "logistic" ? logisticGradient(params, x, y) : mlpGradient(params, x, y);
}

/** The full-batch gradient of a window and the mean norm of its per-sample gradients. */
export interface WindowGradient {
  /** (1/|W|) * sum over i in W of grad l_i. */
  gradient: number[];
  /** (1/|W|) * sum over i in W of |grad l_i|: the scale that relative errors are measured against. */
  meanSampleNorm: number;
}

/** The sample-count-weighted full-batch body gradient of a window at the given parameters. */
export function windowBodyGradient(
  model: BodyModel,
  params: number[],
  features: number[][],
  labels: number[],
  samples: readonly number[],
): WindowGradient {
  let sum: number[] = params.map(() => 0);
  let normSum = 0;
  for (const i of samples) {
    const g = sampleBodyGradient(model, params, features[i] ?? [], labels[i] ?? 0);
    sum = add(sum, g) as number[];
    normSum += Math.hypot(...g);
  }
  const n = Math.max(samples.length, 1);
  return { gradient: multiply(sum, 1 / n) as number[], meanSampleNorm: normSum / n };
}

/** |a - b| in the Euclidean norm. */
export function distance(a: readonly number[], b: readonly number[]): number {
  return Math.hypot(...(subtract([...a], [...b]) as number[]));
}
