import { describe, expect, it } from "vitest";
import { occurrences, stepWeights } from "../../../test/support/step-weights.js";
import { makeDataset } from "../../contract/probe.js";
import { parseScenario } from "../../contract/scenario.js";
import { tailStepTrainer } from "./tail-step.js";

describe("tail-step on 110 samples, B=8, K=4, 2 epochs", () => {
  it("flushes the tail each epoch but still divides it by K", async () => {
    const scenario = parseScenario({ datasetSize: 110, batchSize: 8, accumulation: 4, epochs: 2 });
    const trace = await tailStepTrainer.run(scenario, makeDataset(scenario));
    expect(trace.steps.map((s) => s.epoch)).toEqual([0, 0, 0, 0, 1, 1, 1, 1]);
    for (const epoch of [0, 1]) {
      const tail = stepWeights(trace.steps[epoch * 4 + 3] ?? expect.fail("no tail step"));
      expect([...tail.keys()]).toEqual(occurrences(epoch, 96, 109));
      // Too little weight: a correct step over these 14 samples gives each 1/14.
      for (const key of occurrences(epoch, 96, 103)) expect(tail.get(key)).toBe(1 / 32);
      for (const key of occurrences(epoch, 104, 109)) expect(tail.get(key)).toBeCloseTo(1 / 24, 7);
    }
  });
});
