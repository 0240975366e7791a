import * as tf from "@tensorflow/tfjs-core";
import { beforeAll, describe, expect, it } from "vitest";
import {
  type Dataset,
  FEATURES,
  HIDDEN,
  initialBodyParameters,
  makeDataset,
} from "../contract/probe.js";
import { parseScenario, type ScenarioInput } from "../contract/scenario.js";
import { selectBackend } from "./backend.js";
import { referenceTrainer } from "./loops/reference.js";
import { ProbeModel } from "./probe-model.js";
import { NoopRecorder } from "./recorder.js";

const softplus = (z: number) => Math.max(z, 0) + Math.log1p(Math.exp(-Math.abs(z)));
const sigmoid = (z: number) => 1 / (1 + Math.exp(-z));

/** Float64 MLP sample loss, parameters flattened as probe.ts says. */
function mlpLoss(theta: number[], x: number[], y: number): number {
  const at = (k: number) => theta[k] ?? Number.NaN;
  const w2 = HIDDEN * FEATURES + HIDDEN;
  let z = at(w2 + HIDDEN);
  for (let h = 0; h < HIDDEN; h++) {
    let a = at(HIDDEN * FEATURES + h);
    for (let f = 0; f < FEATURES; f++) a += at(h * FEATURES + f) * (x[f] ?? Number.NaN);
    z += at(w2 + h) * Math.tanh(a);
  }
  return softplus(z) - y * z;
}

function meanLoss(theta: number[], data: Dataset): number {
  const total = data.labels.reduce(
    (sum, y, i) => sum + mlpLoss(theta, data.features[i] ?? [], y),
    0,
  );
  return total / data.labels.length;
}

/** One full-batch window, so step 0 applies the mean gradient at the initial parameters. */
async function firstStep(input: ScenarioInput) {
  const scenario = parseScenario(input);
  const dataset = makeDataset(scenario);
  const trace = await referenceTrainer.run(scenario, dataset);
  const step = trace.steps[0];
  if (step?.body == null) throw new Error("step 0: expected a body gradient, saw none");
  return {
    dataset,
    scenario,
    before: step.body.parametersBefore,
    gradient: step.body.gradient,
  };
}

beforeAll(() => selectBackend("cpu"));

describe("ProbeModel", () => {
  it("gives per-sample losses body + phi[epoch][i], reading the epoch tag", () => {
    const scenario = parseScenario({
      datasetSize: 4,
      batchSize: 2,
      accumulation: 1,
      epochs: 2,
      model: "logistic",
    });
    const dataset = makeDataset(scenario);
    const model = new ProbeModel(scenario, dataset, new NoopRecorder());
    try {
      model.fingerprint.assign(tf.tensor1d([0, 0, 0, 0, 10, 20, 30, 40]));
      const theta = initialBodyParameters(scenario);
      const expected = (i: number) => {
        const x = dataset.features[i] ?? [];
        const z = x.reduce((s, v, f) => s + v * (theta[f] ?? 0), theta[3] ?? 0);
        return softplus(z) - (dataset.labels[i] ?? 0) * z;
      };
      model.setEpoch(1);
      const losses = model.perSampleLosses([3, 1]);
      const values = Array.from(losses.dataSync());
      losses.dispose();
      expect(values[0]).toBeCloseTo(expected(3) + 40, 4);
      expect(values[1]).toBeCloseTo(expected(1) + 20, 4);
      expect(() => model.setEpoch(2)).toThrow(
        /setEpoch: expected a whole number from 0 to 1, saw 2/,
      );
    } finally {
      model.dispose();
    }
  });

  it("logistic body gradient is mean((sigmoid(z) - y) [x, 1])", async () => {
    const { dataset, scenario, before, gradient } = await firstStep({
      datasetSize: 6,
      batchSize: 6,
      accumulation: 1,
      model: "logistic",
    });
    expect(before).toEqual(initialBodyParameters(scenario).map(Math.fround));
    const expected = [0, 0, 0, 0];
    dataset.features.forEach((x, i) => {
      const z = x.reduce((s, v, f) => s + v * (before[f] ?? 0), before[3] ?? 0);
      const r = (sigmoid(z) - (dataset.labels[i] ?? 0)) / dataset.labels.length;
      x.forEach((v, f) => {
        expected[f] = (expected[f] ?? 0) + r * v;
      });
      expected[3] = (expected[3] ?? 0) + r;
    });
    gradient.forEach((g, k) => {
      expect(g).toBeCloseTo(expected[k] ?? Number.NaN, 5);
    });
  });

  it("mlp body gradient matches a float64 central finite difference", async () => {
    const { dataset, before, gradient } = await firstStep({
      datasetSize: 7,
      batchSize: 3,
      accumulation: 3,
      model: "mlp",
      dataSeed: 4,
    });
    expect(gradient).toHaveLength(HIDDEN * FEATURES + 2 * HIDDEN + 1);
    const h = 1e-6;
    gradient.forEach((g, k) => {
      const plus = [...before];
      const minus = [...before];
      plus[k] = (plus[k] ?? 0) + h;
      minus[k] = (minus[k] ?? 0) - h;
      const numeric = (meanLoss(plus, dataset) - meanLoss(minus, dataset)) / (2 * h);
      expect(Math.abs(g - numeric), `parameter ${k}`).toBeLessThan(1e-5);
    });
  });

  it("leaks no tensors across many runs of every trainer and precision", async () => {
    const { createTfjsTrainers } = await import("./index.js");
    const run = async () => {
      for (const precision of ["fp32", "fp16", "bf16"] as const)
        for (const trainer of createTfjsTrainers()) {
          const scenario = parseScenario({
            datasetSize: 19,
            batchSize: 3,
            accumulation: 2,
            epochs: 2,
            precision,
            model: "mlp",
          });
          await trainer.run(scenario, makeDataset(scenario));
          await trainer.run(scenario, makeDataset(scenario), { record: false });
        }
    };
    await run();
    const baseline = tf.memory().numTensors;
    await run();
    await run();
    expect(tf.memory().numTensors).toBe(baseline);
  });
});
