import { describe, expect, it } from "vitest";
import type { CheckJudgement } from "../properties/outcome.js";
import { runCheck } from "../properties/run-check.js";
import { propertyMessage } from "../reports/sentences/index.js";
import { parseScenario, type Scenario } from "../trainers/contract/scenario.js";
import type { Trainer } from "../trainers/contract/trainer.js";
import { createTfjsTrainers } from "../trainers/tfjs/index.js";

/** The mission's scenarios, checked against the built-in trainers forever. */
const trainers = new Map<string, Trainer>(createTfjsTrainers().map((t) => [t.name, t]));
const trainer = (name: string): Trainer => {
  const t = trainers.get(name);
  if (!t) throw new Error(`no built-in trainer ${name}`);
  return t;
};
const tail110 = parseScenario({ datasetSize: 110, batchSize: 8, accumulation: 4, epochs: 2 });
const big1000 = parseScenario({ datasetSize: 1000, batchSize: 128, accumulation: 4 });

/** The check of a trainer that must have run: an error is a broken test setup. */
async function judge(name: string, scenario: Scenario): Promise<CheckJudgement> {
  const check = await runCheck(trainer(name), scenario);
  if (check.verdict === "error") throw new Error(`${name}: ${JSON.stringify(check.error)}`);
  return check;
}

describe("1000 samples, micro-batch 128, K = 4", () => {
  it("two-loop over-weights the 104-sample micro-batch: max relative error 488/416 - 1 = 0.173", async () => {
    const result = await judge("two-loop", big1000);
    const w = result.properties.weighting;
    expect(result.verdict).toBe("fail");
    expect(w?.ok).toBe(false);
    expect(w?.maxRelError).toBeCloseTo(488 / 416 - 1, 4);
    expect(w?.worst).toMatchObject({ windowSize: 488, step: 1 });
    expect(w?.worst?.sample).toBeGreaterThanOrEqual(896);
    expect(result.properties.coverage.ok).toBe(true);
    expect(propertyMessage(result, "weighting")).toBe(
      "step 2 (epoch 1) gave 104 samples of epoch 1 (896–999) weight 1/416; their 488-sample window should give 1/488: relative error 0.1731 > tolerance 1e-4",
    );
  });

  it("reference passes", async () => {
    for (const model of ["fingerprint", "logistic", "mlp"] as const) {
      const result = await judge("reference", { ...big1000, model });
      expect(result.verdict, `${model}: ${JSON.stringify(result.properties)}`).toBe("pass");
    }
  });
});

describe("110 samples, micro-batch 8, K = 4, 2 epochs", () => {
  it("docs-loop applies 96 of 110 in epoch 1 and leaks 14 into epoch 2", async () => {
    const result = await judge("docs-loop", tail110);
    const c = result.properties.coverage;
    expect(c.ok).toBe(false);
    expect(c.epochs[0]).toMatchObject({ applied: 96, leaked: 14, lost: 0 });
    expect(c.epochs[1]).toMatchObject({ applied: 96, lost: 14 });
    expect(c.findings).toEqual([
      {
        kind: "leaked",
        epoch: 0,
        samples: { count: 14, ranges: [[96, 109]] },
        step: 3,
        stepEpoch: 1,
        ranks: [0],
      },
      {
        kind: "lost",
        epoch: 1,
        samples: { count: 14, ranges: [[96, 109]] },
        skippedStep: null,
        ranks: [0],
      },
    ]);
    expect(propertyMessage(result, "coverage")).toBe(
      "epoch 1: 96 of 110 applied in their epoch; 14 samples leaked into epoch 2 (96–109) | epoch 2: 96 of 110 applied in their epoch; 14 samples never applied (96–109)",
    );
    expect(result.properties.windowing.ok).toBe(false);
  });

  it("tail-step covers every sample but under-weights the 14-sample tail", async () => {
    const result = await judge("tail-step", tail110);
    const w = result.properties.weighting;
    expect(result.properties.coverage.ok).toBe(true);
    expect(w?.ok).toBe(false);
    expect(w?.worst?.windowSize).toBe(14);
    expect(w?.worst?.weight).toBeCloseTo(1 / 32, 7);
    expect(w?.maxRelError).toBeCloseTo(1 - 14 / 32, 5);
  });

  it("reference passes, with and without a body, shuffled and not", async () => {
    for (const extra of [
      {},
      { model: "logistic" as const },
      { model: "mlp" as const, shuffle: 5 },
    ]) {
      const result = await judge("reference", { ...tail110, ...extra });
      expect(result.verdict, JSON.stringify(result.properties)).toBe("pass");
    }
  });
});
