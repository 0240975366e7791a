import { describe, expect, it } from "vitest";
import { occurrences, stepWeights } from "../../../test/support/step-weights.js";
import { makeDataset } from "../../contract/probe.js";
import { parseScenario } from "../../contract/scenario.js";
import { kPlusOneTrainer } from "./k-plus-one.js";

describe("k-plus-one on 110 samples, B=8, K=4, 2 epochs", () => {
  it("steps every 5 micro-batches with weight 1/40 and still leaks the tail", async () => {
    const scenario = parseScenario({ datasetSize: 110, batchSize: 8, accumulation: 4, epochs: 2 });
    const trace = await kPlusOneTrainer.run(scenario, makeDataset(scenario));
    expect(trace.steps.map((s) => s.epoch)).toEqual([0, 0, 1, 1]);
    const first = stepWeights(trace.steps[0] ?? expect.fail("no step 0"));
    expect([...first.keys()]).toEqual(occurrences(0, 0, 39));
    for (const w of first.values()) expect(w).toBe(Math.fround(1 / 40));
    // Epoch 0's micro-batches 10..13 (samples 80..109) join epoch 1's first five.
    const leaking = stepWeights(trace.steps[2] ?? expect.fail("no step 2"));
    expect([...leaking.keys()].sort()).toEqual(
      [...occurrences(0, 80, 109), ...occurrences(1, 0, 39)].sort(),
    );
    expect(leaking.get("0:109")).toBeCloseTo(1 / 30, 7);
  });
});
