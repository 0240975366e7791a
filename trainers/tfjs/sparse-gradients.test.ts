import * as tf from "@tensorflow/tfjs-core";
import fc from "fast-check";
import { beforeAll, describe, expect, it } from "vitest";
import { makeDataset } from "../contract/probe.js";
import { PRECISIONS, parseScenario, type Scenario } from "../contract/scenario.js";
import { selectBackend } from "./backend.js";
import { GradientBuffer } from "./gradients.js";
import { LossScaler } from "./loss-scaler.js";
import { SgdOptimizer } from "./optimizer.js";
import { ProbeModel } from "./probe-model.js";
import { TraceRecorder } from "./recorder.js";

/**
 * The sparse fingerprint gradients (phi's gradient kept as touched indices and float32 values
 * through backward, divide, rounding, the finite check, the update and the recorder) against
 * the dense computation: tf.variableGrads over phi as a variable of length epochs x N, with a
 * scatter per micro-batch and dense tensor arithmetic after it. Both run the same generated
 * operations, leaving gradients over across steps (no zero_grad) where the program says so;
 * their gradients, parameters and traces must be equal bit for bit.
 */

/** How a micro-batch's per-sample losses become the scalar given to backward. */
type LossKind =
  | { kind: "sum" }
  | { kind: "mean" }
  | { kind: "scaled"; factor: number }
  | { kind: "twice" }; // two lookups of the same samples in one loss

/** Which forward pass a backward takes: one loss per sample, or one per loss unit (token). */
type Forward = "perSampleLosses" | "lossTerms";

type Op =
  | { op: "backward"; epoch: number; samples: number[]; forward: Forward; loss: LossKind }
  | { op: "divide"; divisor: number }
  | { op: "step" }
  | { op: "zero" };

interface Side {
  model: ProbeModel;
  gradients: GradientBuffer;
  optimizer: SgdOptimizer;
  recorder: TraceRecorder;
}

function open(scenario: Scenario, sparse: boolean, initialScale: number): Side {
  const recorder = new TraceRecorder(scenario.datasetSize);
  const model = new ProbeModel(scenario, makeDataset(scenario), recorder, {
    sparseGradients: sparse,
  });
  const scaler = scenario.precision === "fp16" ? new LossScaler(initialScale) : null;
  const gradients = new GradientBuffer(model, scenario.precision, scaler);
  const optimizer = new SgdOptimizer(model, gradients, scenario.learningRate, scaler, recorder);
  return { model, gradients, optimizer, recorder };
}

function loss(model: ProbeModel, samples: number[], forward: Forward, kind: LossKind): tf.Scalar {
  const losses = model[forward](samples);
  switch (kind.kind) {
    case "sum":
      return tf.sum(losses);
    case "mean":
      return tf.mean(losses);
    case "scaled":
      return tf.mul(tf.sum(losses), kind.factor);
    case "twice":
      return tf.add(tf.sum(losses), tf.mul(tf.sum(model[forward](samples)), 0.75));
  }
}

/** Runs one operation on a side; a step gives whether it applied, the others null. */
function apply(side: Side, op: Op): boolean | null {
  if (op.op === "step") return side.optimizer.step();
  if (op.op === "backward") {
    side.model.setEpoch(op.epoch);
    side.gradients.backward(() => loss(side.model, op.samples, op.forward, op.loss));
  } else if (op.op === "divide") side.gradients.divide(op.divisor);
  else side.optimizer.zeroGrad();
  return null;
}

const dense = (t: tf.Tensor) => {
  const values = Array.from(t.dataSync());
  t.dispose();
  return values;
};

/** Every observable of a side: phi's and the body's accumulated gradients and parameters. */
function observe(side: Side) {
  const { model, gradients } = side;
  const fingerprint = model.fingerprint;
  return {
    fingerprintGradient: dense(gradients.read(fingerprint)),
    bodyGradient: model.body === null ? null : dense(gradients.read(model.body)),
    phi: Array.from(fingerprint.dataSync()),
    body: model.body === null ? null : Array.from(model.body.dataSync()),
  };
}

const commonFields = {
  datasetSize: fc.integer({ min: 1, max: 12 }),
  epochs: fc.integer({ min: 1, max: 3 }),
  precision: fc.constantFrom(...PRECISIONS),
  learningRate: fc.constantFrom(0.1, 0.3, 1),
  dataSeed: fc.nat(20),
};

/** Sample-weighted scenarios, and token-weighted ones whose lookups repeat a sample's index. */
const scenarioArbitrary = fc.oneof(
  fc
    .record({ ...commonFields, model: fc.constantFrom("fingerprint", "logistic", "mlp") })
    .map((s) => parseScenario({ ...s, batchSize: 1, accumulation: 1 })),
  fc
    .record({
      ...commonFields,
      model: fc.constantFrom("fingerprint", "causal-lm"),
      lengths: fc.array(fc.nat(4), { minLength: 1, maxLength: 4 }),
    })
    .map((s) =>
      parseScenario({
        ...s,
        lengths: s.lengths.slice(0, s.datasetSize),
        weighting: "tokens",
        batchSize: 1,
        accumulation: 1,
      }),
    ),
);

const lossArbitrary: fc.Arbitrary<LossKind> = fc.oneof(
  fc.constant({ kind: "sum" as const }),
  fc.constant({ kind: "mean" as const }),
  fc.constant({ kind: "twice" as const }),
  fc
    .constantFrom(0.5, 3, -2, 1e-3, 1 / 3, 0, 1e5)
    .map((factor) => ({ kind: "scaled" as const, factor })),
);

function programArbitrary(scenario: Scenario): fc.Arbitrary<Op[]> {
  const backward = fc.record({
    op: fc.constant("backward" as const),
    epoch: fc.integer({ min: 0, max: scenario.epochs - 1 }),
    samples: fc.uniqueArray(fc.integer({ min: 0, max: scenario.datasetSize - 1 }), {
      minLength: 1,
      maxLength: scenario.datasetSize,
    }),
    forward: fc.constantFrom<Forward>("perSampleLosses", "lossTerms"),
    loss: lossArbitrary,
  });
  const op: fc.Arbitrary<Op> = fc.oneof(
    { weight: 5, arbitrary: backward },
    {
      weight: 1,
      arbitrary: fc
        .constantFrom(1, 2, 3, 7, 10, 0.3)
        .map((divisor) => ({ op: "divide" as const, divisor })),
    },
    { weight: 2, arbitrary: fc.constant({ op: "step" as const }) },
    { weight: 1, arbitrary: fc.constant({ op: "zero" as const }) },
  );
  return fc.array(op, { minLength: 1, maxLength: 14 });
}

beforeAll(() => selectBackend("cpu"));

describe("sparse fingerprint gradients", () => {
  it("equal the dense variableGrads computation bit for bit, through steps, leftovers, division, fp16, bf16 and token terms", {
    timeout: 120_000,
  }, async () => {
    const arbitrary = scenarioArbitrary.chain((scenario) =>
      fc.record({
        scenario: fc.constant(scenario),
        program: programArbitrary(scenario),
        initialScale: fc.constantFrom(1, 2 ** 10, 2 ** 16, 2 ** 20),
      }),
    );
    let overflowed = 0;
    await fc.assert(
      fc.asyncProperty(arbitrary, async ({ scenario, program, initialScale }) => {
        const before = tf.memory().numTensors;
        const sides = [open(scenario, true, initialScale), open(scenario, false, initialScale)];
        const [sparse, denseSide] = sides as [Side, Side];
        expect(sparse.model.sparseGradients).toBe(true);
        expect(denseSide.model.sparseGradients).toBe(false);
        try {
          for (const op of program) {
            const results = sides.map((side) => apply(side, op));
            if (results[0] === false) overflowed += 1;
            expect(results[0]).toBe(results[1]);
            expect(observe(sparse)).toEqual(observe(denseSide));
          }
          const trainer = { name: "t", framework: "tensorflow.js", frameworkVersion: "x" };
          const [a, b] = await Promise.all(
            sides.map((side) => side.recorder.finish(trainer, scenario)),
          );
          expect(a).toEqual(b);
        } finally {
          for (const side of sides) {
            side.gradients.zero();
            side.recorder.dispose();
            side.optimizer.dispose();
            side.model.dispose();
          }
          expect(tf.memory().numTensors).toBe(before);
        }
      }),
      { numRuns: 120, seed: 20260512 },
    );
    expect(overflowed).toBeGreaterThan(0);
  });

  it("rounds to fp16 per micro-batch, overflow to infinity, and skips that step", () => {
    const scenario = parseScenario({
      datasetSize: 4,
      batchSize: 2,
      accumulation: 2,
      precision: "fp16",
    });
    const side = open(scenario, true, 2 ** 16);
    try {
      // Gradient 2^16 x 1/3 per sample: rounded to half precision (21840), then summed in fp32.
      side.gradients.backward(() => tf.div(tf.sum(side.model.perSampleLosses([0, 1])), 3));
      side.gradients.backward(() => tf.div(tf.sum(side.model.perSampleLosses([1])), 3));
      const { indices, values } = side.gradients.readFingerprint();
      expect(Array.from(indices)).toEqual([0, 1]);
      expect(Array.from(values)).toEqual([21840, 43680]);
      // Gradient 2^16 on sample 2 rounds to +Infinity: the step is skipped, the scale halved.
      side.gradients.backward(() => tf.sum(side.model.perSampleLosses([2])));
      expect(side.gradients.readFingerprint().values[2]).toBe(Number.POSITIVE_INFINITY);
      expect(side.optimizer.step()).toBe(false);
      expect(side.optimizer.lossScale).toBe(2 ** 15);
      expect(Array.from(side.model.fingerprint.dataSync())).toEqual([0, 0, 0, 0]);
    } finally {
      side.gradients.zero();
      side.model.dispose();
    }
  });

  it("takes up a value assigned to the fingerprint variable, and shows updates in it", () => {
    const scenario = parseScenario({ datasetSize: 3, batchSize: 3, accumulation: 1, epochs: 2 });
    const side = open(scenario, true, 1);
    try {
      const assigned = tf.tensor1d([1, 2, 3, 4, 5, 6]);
      side.model.fingerprint.assign(assigned);
      assigned.dispose();
      side.model.setEpoch(1);
      const losses = side.model.perSampleLosses([2, 0]);
      expect(Array.from(losses.dataSync())).toEqual([6, 4]);
      losses.dispose();
      side.gradients.backward(() => tf.sum(side.model.perSampleLosses([2, 0])));
      side.gradients.divide(2);
      expect(side.optimizer.step()).toBe(true);
      expect(Array.from(side.model.fingerprint.dataSync())).toEqual(
        [1, 2, 3, 4 - 0.05, 5, 6 - 0.05].map(Math.fround),
      );
    } finally {
      side.gradients.zero();
      side.model.dispose();
    }
  });
});
