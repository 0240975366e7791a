import { describe, expect, it } from "vitest";
import { formatCheck } from "../reports/text.js";
import { CORRECT, loaderBatches, simulateLoop } from "../test/support/loop-simulator.js";
import { judge } from "../test/support/outcomes.js";
import { lossUnits } from "../trainers/contract/probe.js";
import { parseScenario, type Scenario, type ScenarioInput } from "../trainers/contract/scenario.js";
import { planEpochs } from "./epoch-plan.js";

describe("expected windows come from the scenario", () => {
  const scenario = { datasetSize: 110, batchSize: 8, accumulation: 4, epochs: 2 } as const;

  it("expects every window of the scenario from a loop that stops early", () => {
    const check = judge(simulateLoop(scenario, { ...CORRECT, maxSteps: 5 }));
    const windowing = check.properties.windowing;
    expect([windowing.expectedSteps, windowing.appliedSteps]).toEqual([8, 5]);
    expect(windowing.findings).toContainEqual({
      kind: "unproduced-windows",
      epoch: 1,
      windows: [1, 3],
      microBatches: 10,
      producedMicroBatches: 4,
      samples: 78,
    });
    expect(check.properties.coverage.epochs[1]).toMatchObject({ applied: 32, lost: 78 });
    const text = formatCheck(check);
    expect(text).toContain("expected 8 applied steps, saw 5");
    expect(text).toContain(
      "3 windows never produced: the loader stopped after 4 micro-batches of epoch 2, where the scenario has 14",
    );
  });

  it("counts the same windows when the order comes from applied steps (no micro-batches recorded)", () => {
    const trace = simulateLoop({ ...scenario, shuffle: 3 }, { ...CORRECT, maxSteps: 6 });
    delete trace.microBatches;
    const windowing = judge(trace).properties.windowing;
    expect([windowing.expectedSteps, windowing.appliedSteps]).toEqual([8, 6]);
  });

  it("expects no more windows than the loaders produced when they produced more", () => {
    const trace = simulateLoop(scenario, CORRECT);
    const plans = planEpochs(trace.scenario, trace);
    expect(plans.map((p) => [p.microBatches, p.produced, p.windows.length])).toEqual([
      [14, 14, 4],
      [14, 14, 4],
    ]);
    expect(plans.flatMap((p) => p.windows.map((w) => w.unproduced))).toEqual(new Array(8).fill(0));
  });
});

describe("samples without loss tokens are due weight 0", () => {
  // Loss tokens 3, 0, 2, 1, 0 repeated: 8 of 20 samples have none.
  const scenario = {
    datasetSize: 20,
    batchSize: 3,
    accumulation: 2,
    epochs: 2,
    weighting: "tokens",
    lengths: [3, 0, 2, 1, 0],
    shuffle: 11,
  } satisfies ScenarioInput;
  const units = lossUnits(parseScenario(scenario));
  const withTokens = (batch: readonly number[]) => batch.filter((i) => (units[i] ?? 0) > 0);

  it("passes a loop that leaves them out before batching", () => {
    const leftOut = (s: Scenario, epoch: number) => {
      const kept = loaderBatches({ ...s, batchSize: s.datasetSize }, epoch)
        .flat()
        .filter((i) => (units[i] ?? 0) > 0);
      return Array.from({ length: Math.ceil(kept.length / s.batchSize) }, (_, p) =>
        kept.slice(p * s.batchSize, (p + 1) * s.batchSize),
      );
    };
    const check = judge(simulateLoop(scenario, { ...CORRECT, batches: leftOut }));
    expect(check.verdict).toBe("pass");
    // 12 samples with tokens in micro-batches of 3: 4 micro-batches, 2 windows per epoch.
    expect(check.properties.windowing.expectedSteps).toBe(4);
  });

  it("passes a loop that drops them from each micro-batch (micro-batches short by them only)", () => {
    const dropped = (s: Scenario, epoch: number) => loaderBatches(s, epoch).map(withTokens);
    const trace = simulateLoop(scenario, { ...CORRECT, batches: dropped });
    expect(trace.microBatches?.some((mb) => mb.samples.length < 3)).toBe(true);
    const check = judge(trace);
    expect(check.verdict).toBe("pass");
    expect(check.properties.coverage.epochs.map((e) => e.lost)).toEqual([0, 0]);
  });

  it("still fails a loop that also loses samples with loss tokens", () => {
    const lossy = (s: Scenario, epoch: number) =>
      loaderBatches(s, epoch)
        .map(withTokens)
        .map((batch, position) => (position === 0 ? batch.slice(1) : batch));
    const check = judge(simulateLoop(scenario, { ...CORRECT, batches: lossy }));
    expect(check.verdict).toBe("fail");
    expect(check.properties.coverage.epochs.every((e) => e.lost >= 1)).toBe(true);
  });
});
