import { describe, expect, it } from "vitest";
import { occurrences, stepWeights } from "../../../test/support/step-weights.js";
import { makeDataset } from "../../contract/probe.js";
import { parseScenario } from "../../contract/scenario.js";
import { twoLoopTrainer } from "./two-loop.js";

describe("two-loop", () => {
  it("on 1000/128/4 over-weights the 104 samples of the last micro-batch", async () => {
    const scenario = parseScenario({ datasetSize: 1000, batchSize: 128, accumulation: 4 });
    const trace = await twoLoopTrainer.run(scenario, makeDataset(scenario));
    expect(trace.steps).toHaveLength(2);
    const first = stepWeights(trace.steps[0] ?? expect.fail("no step 0"));
    expect(first.size).toBe(512);
    for (const w of first.values()) expect(w).toBe(1 / 512);
    const last = stepWeights(trace.steps[1] ?? expect.fail("no step 1"));
    expect(last.size).toBe(488);
    for (const key of occurrences(0, 512, 895)) expect(last.get(key)).toBe(1 / 512);
    for (const key of occurrences(0, 896, 999)) expect(last.get(key)).toBeCloseTo(1 / (104 * 4), 8);
  });

  it("on 110/8/4 over 2 epochs divides the tail window by its 2 micro-batches", async () => {
    const scenario = parseScenario({ datasetSize: 110, batchSize: 8, accumulation: 4, epochs: 2 });
    const trace = await twoLoopTrainer.run(scenario, makeDataset(scenario));
    expect(trace.steps.map((s) => s.epoch)).toEqual([0, 0, 0, 0, 1, 1, 1, 1]);
    const tail = stepWeights(trace.steps[7] ?? expect.fail("no step 7"));
    expect([...tail.keys()]).toEqual(occurrences(1, 96, 109));
    expect(tail.get("1:96")).toBe(1 / 16);
    expect(tail.get("1:109")).toBeCloseTo(1 / 12, 7);
  });
});
