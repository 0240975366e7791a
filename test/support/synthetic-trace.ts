import { windowBodyGradient } from "../../reference/body-gradient.js";
import { initialBodyParameters, makeDataset } from "../../trainers/contract/probe.js";
import type { Scenario } from "../../trainers/contract/scenario.js";
import type { MicroBatch, Step, Trace } from "../../trainers/contract/trace.js";

/** How a synthetic trainer weights a window's micro-batches: returns each sample's weight. */
export type WindowWeighting = (microBatches: number[][], k: number) => number[][];

/** Correct sample-count weighting: 1/|W| for every sample. */
export const sampleCountWeighting: WindowWeighting = (mbs) => {
  const size = mbs.reduce((n, mb) => n + mb.length, 0);
  return mbs.map((mb) => mb.map(() => 1 / size));
};

/** The two-loop mistake: 1/(|mb| * micro-batches in the window). */
export const perMicroBatchWeighting: WindowWeighting = (mbs) =>
  mbs.map((mb) => mb.map(() => 1 / (mb.length * mbs.length)));

/** Index-order micro-batches of one epoch. */
export function indexOrderMicroBatches(s: Scenario): number[][] {
  const out: number[][] = [];
  for (let start = 0; start < s.datasetSize; start += s.batchSize)
    out.push(
      Array.from({ length: Math.min(s.batchSize, s.datasetSize - start) }, (_, k) => start + k),
    );
  const last = out[out.length - 1];
  if (s.dropLast && last && last.length < s.batchSize) out.pop();
  return out;
}

/**
 * A trace of an idealised trainer, in float64, with no shuffle: windows of K micro-batches,
 * weights from `weighting`, body gradients computed from the same weights, SGD updates.
 */
export function syntheticTrace(
  s: Scenario,
  weighting: WindowWeighting = sampleCountWeighting,
): Trace {
  const data = makeDataset(s);
  let params = initialBodyParameters(s);
  const steps: Step[] = [];
  const microBatches: MicroBatch[] = [];
  for (let epoch = 0; epoch < s.epochs; epoch++) {
    const mbs = indexOrderMicroBatches(s);
    for (let first = 0; first < mbs.length; first += s.accumulation) {
      const window = mbs.slice(first, first + s.accumulation);
      for (const mb of window) microBatches.push({ epoch, samples: mb, stepsBefore: steps.length });
      const weights = weighting(window, s.accumulation);
      const samples = window.flat();
      const flatWeights = weights.flat();
      let body: Step["body"] = null;
      const model = s.model;
      if (model !== "fingerprint") {
        const gradient = params.map(() => 0);
        samples.forEach((i, k) => {
          const g = windowBodyGradient(model, params, data.features, data.labels, [i]).gradient;
          g.forEach((v, j) => {
            gradient[j] = (gradient[j] ?? 0) + v * (flatWeights[k] ?? 0);
          });
        });
        body = { parametersBefore: params, gradient };
        params = params.map((p, j) => p - s.learningRate * (gradient[j] ?? 0));
      }
      steps.push({
        epoch,
        skipped: false,
        fingerprint: { epochs: samples.map(() => epoch), samples, weights: flatWeights },
        body,
      });
    }
  }
  return {
    format: "accumaudit-trace",
    version: 1,
    trainer: { name: "synthetic" },
    scenario: s,
    steps,
    microBatches,
  };
}
