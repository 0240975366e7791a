import { describe, expect, it } from "vitest";
import { makeDataset } from "../contract/probe.js";
import { parseScenario, type Scenario } from "../contract/scenario.js";
import { parseTrace } from "../contract/trace.js";
import type { RunOptions } from "../contract/trainer.js";
import { docsLoop } from "./loops/docs-loop.js";
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
      trace: session.finish(),
      parameters: session.model.variables.map((v) => Array.from(v.dataSync())),
    };
  } finally {
    session.dispose();
  }
}

describe("recording", () => {
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
