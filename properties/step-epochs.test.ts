import { describe, expect, it } from "vitest";
import { formatCheck } from "../reports/text.js";
import {
  CORRECT,
  endsWindow,
  type LoopState,
  simulateLoop,
} from "../test/support/loop-simulator.js";
import { judge } from "../test/support/outcomes.js";

/** The tag a loop that fetches its next micro-batch before it steps carries at the epoch's last step. */
const prefetchedTag = (state: LoopState) =>
  state.position === state.batches.length - 1 ? state.epoch + 1 : state.epoch;

/** The documentation loop: every micro-batch mean / K, a step when (i + 1) % K == 0. */
const docsLoop = {
  scale: (state: LoopState) =>
    1 / (state.scenario.accumulation * state.unitsOf(state.batches[state.position] ?? [])),
  stepAfter: (state: LoopState) => (state.position + 1) % state.scenario.accumulation === 0,
};

describe("a step belongs to the epochs of the samples it applies", () => {
  it("passes a correct loop that fetches the next epoch's first micro-batch before its last step", () => {
    const scenario = {
      datasetSize: 110,
      batchSize: 8,
      accumulation: 4,
      epochs: 2,
      model: "logistic",
    } as const;
    const trace = simulateLoop(scenario, { ...CORRECT, stepTag: prefetchedTag });
    // The trace tags the epoch's last step with the next epoch (even epoch 3 of 2).
    expect(trace.steps.map((s) => s.epoch)).toEqual([0, 0, 0, 1, 1, 1, 1, 2]);
    const check = judge(trace);
    expect(check.verdict).toBe("pass");
    expect(check.steps.map((s) => s.epoch)).toEqual([0, 0, 0, 0, 1, 1, 1, 1]);
  });

  it("still finds a tail that leaks into the next epoch, and names only the scenario's epochs", () => {
    const scenario = { datasetSize: 110, batchSize: 8, accumulation: 4, epochs: 2 } as const;
    // Every step tagged one epoch ahead: the tags alone would call the whole run leaked.
    const trace = simulateLoop(scenario, { ...docsLoop, stepTag: (state) => state.epoch + 1 });
    const check = judge(trace);
    const coverage = check.properties.coverage;
    expect(coverage.epochs.map((e) => [e.applied, e.leaked, e.lost])).toEqual([
      [96, 14, 0],
      [96, 0, 14],
    ]);
    const leaked = coverage.findings.filter((f) => f.kind === "leaked");
    expect(leaked).toMatchObject([{ epoch: 0, step: 3, stepEpoch: 1 }]);
    const text = formatCheck(check);
    expect(text).toContain("14 samples leaked into epoch 2");
    expect(text).not.toMatch(/epoch 3/);
  });

  it("judges an aligned scenario of the prefetching documentation loop as passing", () => {
    // 64 samples, B 8, K 4: two full windows per epoch, nothing left over.
    const trace = simulateLoop(
      { datasetSize: 64, batchSize: 8, accumulation: 4, epochs: 3, shuffle: 5 },
      { ...docsLoop, stepTag: prefetchedTag },
    );
    expect(judge(trace).verdict).toBe("pass");
  });

  it("gives a skipped or empty step the epoch of the forward pass before it", () => {
    const scenario = { datasetSize: 16, batchSize: 8, accumulation: 1, epochs: 2 } as const;
    const trace = simulateLoop(scenario, { ...CORRECT, stepAfter: endsWindow, stepTag: () => 5 });
    const last = trace.steps[3];
    if (!last) throw new Error("expected 4 steps");
    trace.steps.push({ ...last, fingerprint: { epochs: [], samples: [], weights: [] }, epoch: 9 });
    const check = judge(trace);
    expect(check.steps.map((s) => s.epoch)).toEqual([0, 0, 1, 1, 1]);
  });
});
