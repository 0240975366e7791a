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
import { causalLmTokenLosses } from "./body-losses.js";
import { GradientBuffer } from "./gradients.js";
import { referenceTrainer } from "./loops/reference.js";
import { lossTokensOf } from "./loss-tokens.js";
import { ProbeModel } from "./probe-model.js";
import { NoopRecorder, type Recorder } from "./recorder.js";

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

/** A recorder that only counts forward passes. */
function forwardCounter(): Recorder & { forwards: number[][] } {
  const forwards: number[][] = [];
  return {
    forwards,
    forward: (_epoch, samples) => {
      forwards.push([...samples]);
    },
    applied: () => {},
    skipped: () => {},
    outside: () => {},
    finish: () => Promise.reject(new Error("not recording")),
  };
}

const values = (t: tf.Tensor) => {
  const read = Array.from(t.dataSync());
  t.dispose();
  return read;
};

/** Sample 0: 2 loss tokens, sample 1: none, sample 2: 3. */
const tokenScenario = (model: "fingerprint" | "causal-lm") =>
  parseScenario({
    datasetSize: 3,
    batchSize: 3,
    accumulation: 1,
    epochs: 2,
    weighting: "tokens",
    model,
    lengths: [2, 0, 3],
  });

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
          for (const input of [
            { model: "mlp" },
            { model: "causal-lm", weighting: "tokens", lengths: [2, 0, 5] },
          ] as const) {
            const scenario = parseScenario({
              datasetSize: 19,
              batchSize: 3,
              accumulation: 2,
              epochs: 2,
              precision,
              ...input,
            });
            await trainer.run(scenario, makeDataset(scenario));
            await trainer.run(scenario, makeDataset(scenario), { record: false });
          }
        }
    };
    await run();
    const baseline = tf.memory().numTensors;
    await run();
    await run();
    expect(tf.memory().numTensors).toBe(baseline);
  });

  it("under token weighting gives one term per loss token, CE_t + phi[epoch][i], in one forward", () => {
    const scenario = tokenScenario("causal-lm");
    const dataset = makeDataset(scenario);
    const recorder = forwardCounter();
    const model = new ProbeModel(scenario, dataset, recorder);
    try {
      model.fingerprint.assign(tf.tensor1d([0, 0, 0, 10, 20, 30]));
      model.setEpoch(1);
      const tokens = lossTokensOf(dataset.tokens ?? expect.fail("no tokens"));
      const ce = (i: number) =>
        values(
          causalLmTokenLosses(
            model.body ?? expect.fail("no body"),
            tokens.contexts[i] ?? [],
            tokens.targets[i] ?? [],
          ),
        );
      const expected = [...ce(2).map((l) => l + 30), ...ce(0).map((l) => l + 10)];
      const terms = values(model.lossTerms([2, 1, 0]));
      expect(terms).toHaveLength(5);
      terms.forEach((t, k) => {
        expect(t).toBeCloseTo(expected[k] ?? Number.NaN, 5);
      });
      expect(model.lossUnitCount([2, 1, 0])).toBe(5);
      expect(model.lossUnitCount([1])).toBe(0);

      const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
      const losses = values(model.perSampleLosses([2, 1, 0]));
      expect(losses[0]).toBeCloseTo(mean(ce(2)) + 30, 5);
      expect(losses[1]).toBe(0);
      expect(losses[2]).toBeCloseTo(mean(ce(0)) + 10, 5);
      expect(recorder.forwards).toEqual([
        [2, 1, 0],
        [2, 1, 0],
      ]);
    } finally {
      model.dispose();
    }
  });

  it("gives lossTerms as perSampleLosses under sample weighting, one unit per sample", () => {
    const scenario = parseScenario({ datasetSize: 4, batchSize: 2, accumulation: 1, model: "mlp" });
    const model = new ProbeModel(scenario, makeDataset(scenario), new NoopRecorder());
    try {
      expect(values(model.lossTerms([3, 1]))).toEqual(values(model.perSampleLosses([3, 1])));
      expect(model.lossUnitCount([3, 1])).toBe(2);
    } finally {
      model.dispose();
    }
  });

  it("sums phi's gradient over a sample's loss tokens, sparse and dense", () => {
    for (const sparseGradients of [true, false]) {
      const scenario = tokenScenario("fingerprint");
      const model = new ProbeModel(scenario, makeDataset(scenario), new NoopRecorder(), {
        sparseGradients,
      });
      const gradients = new GradientBuffer(model, "fp32", null);
      const phiGradient = (loss: () => tf.Scalar) => {
        gradients.backward(loss);
        const read = values(gradients.read(model.fingerprint));
        gradients.zero();
        return read;
      };
      try {
        model.setEpoch(1);
        expect(phiGradient(() => tf.sum(model.lossTerms([0, 1, 2])))).toEqual([0, 0, 0, 2, 0, 3]);
        expect(phiGradient(() => tf.mean(model.lossTerms([2, 0])))).toEqual(
          [0, 0, 0, 2 / 5, 0, 3 / 5].map(Math.fround),
        );
        expect(phiGradient(() => tf.sum(model.perSampleLosses([0, 1, 2])))).toEqual([
          0, 0, 0, 1, 0, 1,
        ]);
      } finally {
        gradients.zero();
        model.dispose();
      }
    }
  });

  it("rejects token weighting without the dataset's token sequences", () => {
    const scenario = tokenScenario("fingerprint");
    const { features, labels } = makeDataset(scenario);
    expect(() => new ProbeModel(scenario, { features, labels }, new NoopRecorder())).toThrow(
      "ProbeModel: token weighting: expected the dataset's tokens, saw none",
    );
  });
});
