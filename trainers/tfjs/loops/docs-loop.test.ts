import { describe, expect, it } from "vitest";
import { occurrences, stepWeights } from "../../../test/support/step-weights.js";
import { makeDataset } from "../../contract/probe.js";
import { parseScenario } from "../../contract/scenario.js";
import { docsLoopTrainer } from "./docs-loop.js";

const scenario = parseScenario({ datasetSize: 110, batchSize: 8, accumulation: 4, epochs: 2 });

describe("docs-loop on 110 samples, B=8, K=4, 2 epochs", () => {
  it("steps 3 times per epoch and leaks epoch 0's tail into epoch 1's first step", async () => {
    const trace = await docsLoopTrainer.run(scenario, makeDataset(scenario));
    expect(trace.steps.map((s) => s.epoch)).toEqual([0, 0, 0, 1, 1, 1]);
    expect(trace.steps.every((s) => !s.skipped && s.body === null)).toBe(true);

    const epoch0 = trace.steps.slice(0, 3).map(stepWeights);
    expect(epoch0.flatMap((w) => [...w.keys()])).toEqual(occurrences(0, 0, 95));
    for (const weights of epoch0) for (const w of weights.values()) expect(w).toBe(1 / 32);

    const leaking = stepWeights(trace.steps[3] ?? expect.fail("no step 3"));
    expect([...leaking.keys()].sort()).toEqual(
      [...occurrences(0, 96, 109), ...occurrences(1, 0, 31)].sort(),
    );
    for (const key of occurrences(0, 96, 103)) expect(leaking.get(key)).toBe(1 / 32);
    for (const key of occurrences(0, 104, 109)) expect(leaking.get(key)).toBeCloseTo(1 / 24, 7);
    for (const key of occurrences(1, 0, 31)) expect(leaking.get(key)).toBe(1 / 32);
  });

  it("never applies the last epoch's tail", async () => {
    const trace = await docsLoopTrainer.run(scenario, makeDataset(scenario));
    const applied = new Set(trace.steps.flatMap((s) => [...stepWeights(s).keys()]));
    for (const key of occurrences(1, 96, 109)) expect(applied.has(key)).toBe(false);
    expect(trace.microBatches?.length).toBe(28);
    expect(trace.microBatches?.[14]).toEqual({
      epoch: 1,
      samples: [0, 1, 2, 3, 4, 5, 6, 7],
      stepsBefore: 3,
      rank: 0,
    });
  });
});
