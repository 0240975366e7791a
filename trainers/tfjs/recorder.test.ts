import * as tf from "@tensorflow/tfjs-core";
import { describe, expect, it } from "vitest";
import { makeDataset } from "../contract/probe.js";
import { parseScenario, type Scenario } from "../contract/scenario.js";
import { parseTrace } from "../contract/trace.js";
import type { RunOptions } from "../contract/trainer.js";
import { docsLoop } from "./loops/docs-loop.js";
import { TraceRecorder } from "./recorder.js";
import { openSession } from "./session.js";

const scenario = parseScenario({
  datasetSize: 29,
  batchSize: 4,
  accumulation: 3,
  epochs: 2,
  shuffle: 5,
  precision: "fp16",
  model: "mlp",
});

/** Runs the docs loop and returns the trace and the parameters it ends with. */
async function train(s: Scenario, options: RunOptions) {
  const session = await openSession("docs-loop", s, makeDataset(s), options);
  try {
    docsLoop(session, s.accumulation);
    return {
      trace: await session.finish(),
      parameters: session.model.variables.map((v) => Array.from(v.dataSync())),
    };
  } finally {
    session.dispose();
  }
}

describe("recording", () => {
  it("keeps a finished trace as it was when the recorder sees more afterwards", async () => {
    const recorder = new TraceRecorder(scenario.datasetSize);
    recorder.forward(0, [1, 2]);
    recorder.skipped(0, 1024);
    const trace = await recorder.finish({ name: "by-hand" }, scenario);
    const before = structuredClone(trace);
    recorder.forward(0, [3]);
    recorder.skipped(0, 512);
    expect(trace).toEqual(before);
  });

  it("writes a trace that survives JSON and parseTrace", async () => {
    const { trace } = await train(scenario, {});
    expect(trace.format).toBe("accumaudit-trace");
    expect(trace.trainer).toMatchObject({
      name: "docs-loop",
      framework: "tensorflow.js",
      backend: "cpu",
    });
    expect(parseTrace(JSON.parse(JSON.stringify(trace)))).toEqual(trace);
    expect(trace.steps.every((s) => s.lossScale === 65536)).toBe(true);
    expect(trace.steps.length).toBe(Math.floor(8 / 3) * 2);
    expect(trace.microBatches?.map((m) => m.stepsBefore)).toEqual([
      0, 0, 0, 1, 1, 1, 2, 2, 2, 2, 2, 3, 3, 3, 4, 4,
    ]);
  });

  it("records the parameters each step started from", async () => {
    const { trace } = await train(parseScenario({ ...scenario, precision: "fp32" }), {});
    const [first, second] = trace.steps;
    const lr = scenario.learningRate;
    second?.body?.parametersBefore.forEach((p, k) => {
      const before = first?.body?.parametersBefore[k] as number;
      const gradient = first?.body?.gradient[k] as number;
      expect(p as number).toBeCloseTo(before - lr * gradient, 6);
    });
    expect(second?.body?.parametersBefore).not.toEqual(first?.body?.parametersBefore);
  });

  it("trains identically without recording, leaving the trace empty", async () => {
    for (const precision of ["fp32", "fp16", "bf16"] as const) {
      const s = parseScenario({ ...scenario, precision });
      const recorded = await train(s, { record: true });
      const silent = await train(s, { record: false });
      expect(silent.parameters).toEqual(recorded.parameters);
      expect(silent.trace.steps).toEqual([]);
      expect(silent.trace.microBatches).toBeUndefined();
      expect(recorded.trace.steps.length).toBeGreaterThan(0);
    }
  });
});

describe("recording on a backend without synchronous reads", () => {
  const trainer = { name: "t", framework: "tensorflow.js", frameworkVersion: "x", backend: "cpu" };
  const small = parseScenario({ datasetSize: 3, batchSize: 1, accumulation: 1, model: "mlp" });

  function feed(recorder: TraceRecorder, gradients: number[][]): void {
    gradients.forEach((values, step) => {
      const fingerprintGradient = tf.tensor1d(values);
      const parametersBefore = tf.tensor1d([step, step + 1]);
      const gradient = tf.tensor1d([0.5 * step, -step]);
      recorder.forward(0, [step]);
      recorder.applied({ epoch: 0, fingerprintGradient, body: { parametersBefore, gradient } });
      if (step === 1) recorder.skipped(0, 128);
      for (const t of [fingerprintGradient, parametersBefore, gradient]) t.dispose();
    });
  }

  it("reads each step's copies at finish into the trace an immediate read gives, and frees them", async () => {
    const gradients = [
      [0.1, 0, 0],
      [0, 0.2, 0.3],
      [0, 0, 0.4],
    ];
    const immediate = new TraceRecorder(3, true);
    feed(immediate, gradients);
    const before = tf.memory().numTensors;
    const deferred = new TraceRecorder(3, false);
    feed(deferred, gradients);
    expect(tf.memory().numTensors).toBe(before + 3 * 3);
    const trace = await deferred.finish(trainer, small);
    expect(tf.memory().numTensors).toBe(before);
    expect(trace).toEqual(await immediate.finish(trainer, small));
    expect(trace.steps.map((s) => s.skipped)).toEqual([false, false, true, false]);
    expect(trace.steps[1]?.fingerprint.samples).toEqual([1, 2]);
  });

  it("frees the copies of a run that fails before finish", () => {
    const before = tf.memory().numTensors;
    const deferred = new TraceRecorder(3, false);
    feed(deferred, [[0.1, 0, 0]]);
    expect(tf.memory().numTensors).toBe(before + 3);
    deferred.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });
});
