import * as tf from "@tensorflow/tfjs-core";
import { describe, expect, it } from "vitest";
import { makeDataset } from "../contract/probe.js";
import { parseScenario, type ScenarioInput } from "../contract/scenario.js";
import type { Trace } from "../contract/trace.js";
import { GradientBuffer } from "./gradients.js";
import { ProbeOptimizer } from "./optimizer.js";
import { ProbeModel } from "./probe-model.js";
import { NoopRecorder } from "./recorder.js";
import { openSession } from "./session.js";

const INPUT: ScenarioInput = {
  datasetSize: 12,
  batchSize: 3,
  accumulation: 2,
  precision: "fp16",
  model: "logistic",
};

/** Two windows at loss scale 2^16 / 32, unscaling explicitly before the step or not. */
async function twoSteps(unscaleFirst: boolean): Promise<Trace> {
  const scenario = parseScenario(INPUT);
  const session = await openSession("unscale", scenario, makeDataset(scenario));
  try {
    const { model, gradients, optimizer } = session;
    for (const window of [
      [0, 1, 2, 3, 4, 5],
      [6, 7, 8, 9, 10, 11],
    ]) {
      gradients.backward(() => tf.div(tf.mean(model.lossTerms(window)), 32));
      if (unscaleFirst) {
        optimizer.unscale();
        optimizer.unscale(); // once per step, as GradScaler.unscale_
      }
      optimizer.step();
      optimizer.zeroGrad();
    }
    return await session.finish();
  } finally {
    session.dispose();
  }
}

describe("the optimizer", () => {
  it("unscales once per step, whether the loop called unscale() or left it to step()", async () => {
    const [implicit, explicit] = [await twoSteps(false), await twoSteps(true)];
    expect(explicit.steps).toEqual(implicit.steps);
    expect(explicit.steps.every((s) => !s.skipped)).toBe(true);
  });

  it("keeps AdamW to phi held in JS (sparse gradients)", () => {
    const scenario = parseScenario({ ...INPUT, precision: "fp32", optimizer: "adamw" });
    const model = new ProbeModel(scenario, makeDataset(scenario), new NoopRecorder(), {
      sparseGradients: false,
    });
    try {
      const gradients = new GradientBuffer(model, "fp32", null);
      expect(
        () =>
          new ProbeOptimizer(model, gradients, 0.1, null, new NoopRecorder(), {
            optimizer: "adamw",
          }),
      ).toThrow(/sparse gradients/);
    } finally {
      model.dispose();
    }
  });
});
