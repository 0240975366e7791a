import * as tf from "@tensorflow/tfjs-core";
import { describe, expect, it } from "vitest";
import { makeDataset } from "../contract/probe.js";
import { parseScenario } from "../contract/scenario.js";
import { clipGradNorm } from "./clip.js";
import { openSession } from "./session.js";

async function withGradient(
  clipNorm: number,
): Promise<{ norm: number; before: number; after: number; phi: number[] }> {
  const scenario = parseScenario({ datasetSize: 6, batchSize: 3, accumulation: 2, model: "mlp" });
  const session = await openSession("clip", scenario, makeDataset(scenario));
  try {
    const { model, gradients } = session;
    gradients.backward(() => tf.sum(model.lossTerms([0, 1, 2])));
    gradients.backward(() => tf.sum(model.lossTerms([3, 4])));
    const before = gradients.squaredNorm();
    const norm = clipGradNorm(gradients, clipNorm);
    return {
      norm,
      before,
      after: gradients.squaredNorm(),
      phi: Array.from(gradients.readFingerprint().values),
    };
  } finally {
    session.dispose();
  }
}

describe("clipGradNorm", () => {
  it("scales phi's and the body's gradient together to the global norm", async () => {
    const { norm, before, after, phi } = await withGradient(0.5);
    expect(norm).toBeCloseTo(Math.sqrt(before), 12);
    expect(norm).toBeGreaterThan(0.5 * Math.sqrt(5)); // phi alone: five entries of 1
    expect(Math.sqrt(after)).toBeCloseTo(0.5, 5);
    const factor = 0.5 / (norm + 1e-6);
    for (const g of phi) expect(g).toBeCloseTo(factor, 6);
  });

  it("leaves a gradient within the norm as it is", async () => {
    const { before, after } = await withGradient(100);
    expect(after).toBe(before);
  });
});
