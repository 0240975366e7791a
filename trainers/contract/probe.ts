import { uniformFloat64 } from "pure-rand/distribution/uniformFloat64";
import { xoroshiro128plus } from "pure-rand/generator/xoroshiro128plus";
import type { Scenario } from "./scenario.js";

/** Input features per sample. */
export const FEATURES = 3;
/** Hidden units of the MLP body. */
export const HIDDEN = 4;
/**
 * c in the fingerprint loss term c * phi[e][i]. The applied gradient of phi[e][i] divided by c
 * is the weight the step gave sample i's epoch-e occurrence.
 */
export const FINGERPRINT_COEFFICIENT = 1;

/** The synthetic labelled dataset every trainer of a scenario trains on. */
export interface Dataset {
  /** features[i] has FEATURES entries. */
  features: number[][];
  /** labels[i] is 0 or 1. */
  labels: number[];
}

/**
 * Body parameters, flattened in this order (the trace and the protocol use it):
 * - logistic: w[0..2], b
 * - mlp: W1 row-major (HIDDEN x FEATURES), b1 (HIDDEN), w2 (HIDDEN), b2
 * - fingerprint: none
 */
export function bodyParameterCount(model: Scenario["model"]): number {
  switch (model) {
    case "fingerprint":
      return 0;
    case "logistic":
      return FEATURES + 1;
    case "mlp":
      return HIDDEN * FEATURES + HIDDEN + HIDDEN + 1;
  }
}

function gaussian(next: () => number): number {
  const u = Math.max(next(), Number.EPSILON);
  const v = next();
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
}

function generator(seed: number, stream: number): () => number {
  const rng = xoroshiro128plus((seed ^ (stream * 0x9e3779b1)) | 0);
  return () => uniformFloat64(rng);
}

/** The scenario's dataset: Gaussian features, labels from a fixed logistic teacher with noise. */
export function makeDataset(s: Pick<Scenario, "datasetSize" | "dataSeed">): Dataset {
  const next = generator(s.dataSeed, 1);
  const teacher = [1.5, -2, 0.75];
  const features: number[][] = [];
  const labels: number[] = [];
  for (let i = 0; i < s.datasetSize; i++) {
    const x = Array.from({ length: FEATURES }, () => gaussian(next));
    const z = x.reduce((acc, xi, j) => acc + xi * (teacher[j] ?? 0), 0.25);
    const p = 1 / (1 + Math.exp(-z));
    features.push(x);
    labels.push(next() < p ? 1 : 0);
  }
  return { features, labels };
}

/** The body's initial parameters (small Gaussian values), flattened as {@link bodyParameterCount} says. */
export function initialBodyParameters(s: Pick<Scenario, "model" | "dataSeed">): number[] {
  const next = generator(s.dataSeed, 2);
  return Array.from({ length: bodyParameterCount(s.model) }, () => 0.5 * gaussian(next));
}

/** Index of phi[epoch][sample] in the flat fingerprint parameter vector of length epochs x N. */
export function fingerprintIndex(epoch: number, sample: number, datasetSize: number): number {
  return epoch * datasetSize + sample;
}
