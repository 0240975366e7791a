import {
  type Dataset,
  EMBEDDING,
  FEATURES,
  HIDDEN,
  IGNORE_INDEX,
  VOCABULARY,
} from "../trainers/contract/probe.js";
import type { Scenario } from "../trainers/contract/scenario.js";

/** A body model that has parameters (the fingerprint-only model has none). */
export type BodyModel = Exclude<Scenario["model"], "fingerprint">;

/** sum_i a_i b_i, in index order. */
const dot = (a: readonly number[], b: readonly number[]): number =>
  a.reduce((sum, value, i) => sum + value * (b[i] ?? 0), 0);

/** c v. */
const scale = (c: number, v: readonly number[]): number[] => v.map((value) => c * value);

const sigmoid = (z: number): number =>
  z >= 0 ? 1 / (1 + Math.exp(-z)) : Math.exp(z) / (1 + Math.exp(z));

function logisticGradient(params: number[], x: number[], y: number): number[] {
  const w = params.slice(0, FEATURES);
  const b = params[FEATURES] ?? 0;
  const residual = sigmoid(dot(w, x) + b) - y;
  return [...scale(residual, x), residual];
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
  const hidden = w1.map((row, j) => Math.tanh(dot(row, x) + (b1[j] ?? 0)));
  const residual = sigmoid(dot(w2, hidden) + b2) - y;
  const hiddenDelta = scale(residual, w2).map((d, j) => d * (1 - (hidden[j] ?? 0) ** 2));
  const w1Gradient = hiddenDelta.flatMap((d) => scale(d, x));
  return [...w1Gradient, ...hiddenDelta, ...scale(residual, hidden), residual];
}

/**
 * Sum over a token sequence's loss tokens of the gradient of the next-token cross-entropy, for
 * the causal-lm body (embedding V x D, head D x V, bias V, flattened in that order): position
 * t - 1 (token x) predicts label y at t; softmax(logits) - onehot(y) is the logits' gradient.
 */
function causalLmGradient(params: number[], inputIds: number[], labels: number[]): number[] {
  const headStart = VOCABULARY * EMBEDDING;
  const biasStart = 2 * VOCABULARY * EMBEDDING;
  const gradient = params.map(() => 0);
  for (let t = 1; t < labels.length; t++) {
    const y = labels[t] ?? IGNORE_INDEX;
    if (y === IGNORE_INDEX) continue;
    const x = inputIds[t - 1] ?? 0;
    const embedding = params.slice(x * EMBEDDING, (x + 1) * EMBEDDING);
    const logits = Array.from(
      { length: VOCABULARY },
      (_, v) =>
        (params[biasStart + v] ?? 0) +
        embedding.reduce((acc, e, d) => acc + e * (params[headStart + d * VOCABULARY + v] ?? 0), 0),
    );
    const top = Math.max(...logits);
    const exps = logits.map((l) => Math.exp(l - top));
    const total = exps.reduce((a, b) => a + b, 0);
    const delta = exps.map((e, v) => e / total - (v === y ? 1 : 0));
    for (let v = 0; v < VOCABULARY; v++) {
      const dv = delta[v] ?? 0;
      gradient[biasStart + v] = (gradient[biasStart + v] ?? 0) + dv;
      for (let d = 0; d < EMBEDDING; d++) {
        const h = headStart + d * VOCABULARY + v;
        gradient[h] = (gradient[h] ?? 0) + (embedding[d] ?? 0) * dv;
        const e = x * EMBEDDING + d;
        gradient[e] = (gradient[e] ?? 0) + (params[h] ?? 0) * dv;
      }
    }
  }
  return gradient;
}

/**
 * Gradient of one sample's body loss with respect to the body parameters, in float64, from the
 * analytic formulas: binary cross-entropy with logits for logistic and mlp, the mean over its
 * loss tokens of the next-token cross-entropy for causal-lm (zero without loss tokens).
 * Parameters are flattened as the probe specifies (see trainers/contract/probe.ts).
 */
export function sampleBodyGradient(
  model: BodyModel,
  params: number[],
  dataset: Dataset,
  sample: number,
): number[] {
  if (model === "causal-lm") {
    const labels = dataset.tokens?.labels[sample] ?? [];
    const sum = causalLmGradient(params, dataset.tokens?.inputIds[sample] ?? [], labels);
    const n = labels.filter((y, t) => t > 0 && y !== IGNORE_INDEX).length;
    return n > 0 ? sum.map((g) => g / n) : sum;
  }
  const x = dataset.features[sample] ?? [];
  const y = dataset.labels[sample] ?? 0;
  return model === "logistic" ? logisticGradient(params, x, y) : mlpGradient(params, x, y);
}

/** The full-batch gradient of a window and the mean norm of its per-sample gradients. */
export interface WindowGradient {
  /** sum over i in W of (units_i / units(W)) grad l_i: (1/|W|) sum grad l_i under sample weighting. */
  gradient: number[];
  /** The same weighted mean of |grad l_i|: the scale that relative errors are measured against. */
  meanSampleNorm: number;
}

/**
 * The full-batch body gradient of a window at the given parameters: each sample's gradient
 * weighted by its loss units over the window's (1 each under sample weighting, its loss tokens
 * under token weighting, so every loss token counts the same).
 */
export function windowBodyGradient(
  model: BodyModel,
  params: number[],
  dataset: Dataset,
  samples: readonly number[],
  units: readonly number[],
): WindowGradient {
  const sum: number[] = params.map(() => 0);
  let normSum = 0;
  let total = 0;
  for (const i of samples) {
    const u = units[i] ?? 0;
    if (u === 0) continue;
    const g = sampleBodyGradient(model, params, dataset, i);
    for (let j = 0; j < sum.length; j++) sum[j] = (sum[j] ?? 0) + (g[j] ?? 0) * u;
    normSum += u * Math.hypot(...g);
    total += u;
  }
  const n = total > 0 ? total : 1;
  return { gradient: scale(1 / n, sum), meanSampleNorm: normSum / n };
}

/** |a - b| in the Euclidean norm. */
export function distance(a: readonly number[], b: readonly number[]): number {
  return Math.hypot(...a.map((value, i) => value - (b[i] ?? 0)));
}
