import { describe, expect, it } from "vitest";
import { diagnoseTrace } from "../../../properties/diagnose.js";
import type { CheckJudgement } from "../../../properties/outcome.js";
import { expectedLearningRate } from "../../../reference/schedule.js";
import { makeDataset } from "../../contract/probe.js";
import { parseScenario, type ScenarioInput } from "../../contract/scenario.js";
import type { Trace } from "../../contract/trace.js";
import type { Trainer } from "../../contract/trainer.js";
import { docsLoopTrainer } from "./docs-loop.js";
import { kPlusOneTrainer } from "./k-plus-one.js";
import { referenceTrainer } from "./reference.js";
import { tailStepTrainer } from "./tail-step.js";
import { twoLoopTrainer } from "./two-loop.js";

const BASE: ScenarioInput = { datasetSize: 128, batchSize: 8, accumulation: 4, epochs: 2 };
type Fields = Partial<ScenarioInput>;

const ALL: Fields = {
  clipNorm: 0.05,
  schedule: "cosine",
  warmupSteps: 2,
  ema: 0.9,
  optimizer: "adamw",
};
/** Each step-semantics field alone, then all together. */
const FIELDS: Record<string, Fields> = {
  "clip-norm": { clipNorm: 0.05 },
  "cosine schedule, 2 warm-up": { schedule: "cosine", warmupSteps: 2 },
  "linear schedule": { schedule: "linear" },
  "step schedule, 1 warm-up": { schedule: "step", warmupSteps: 1 },
  ema: { ema: 0.9 },
  adamw: { optimizer: "adamw" },
  "all of them": ALL,
};

async function run(trainer: Trainer, input: Fields): Promise<{ trace: Trace; d: CheckJudgement }> {
  const scenario = parseScenario({ ...BASE, ...input });
  const trace = await trainer.run(scenario, makeDataset(scenario));
  return { trace, d: diagnoseTrace(trace, makeDataset(scenario)) };
}

function failing(d: CheckJudgement): string[] {
  return Object.entries(d.properties)
    .filter(([, result]) => !result.ok)
    .map(([name, result]) => `${name}: ${JSON.stringify(result.findings[0])}`);
}

describe("the reference under step semantics, 128/8/4 over 2 epochs", () => {
  for (const model of ["fingerprint", "logistic"] as const)
    for (const [name, fields] of Object.entries(FIELDS))
      it(`passes every property with ${name} (${model})`, async () => {
        const { d } = await run(referenceTrainer, { model, ...fields });
        expect(failing(d)).toEqual([]);
        expect(d.verdict).toBe("pass");
      });

  for (const [name, fields] of Object.entries<Fields>({ alone: {}, "with all fields": ALL }))
    it(`passes fp16 with --overflow-step 2 ${name}, redoing the forced window`, async () => {
      const { trace, d } = await run(referenceTrainer, {
        precision: "fp16",
        overflowStep: 2,
        model: "logistic",
        ...fields,
      });
      expect(failing(d)).toEqual([]);
      expect(d.verdict).toBe("pass");
      // The first skip after an applied step is the forced one; the window is fed again.
      const firstApplied = trace.steps.findIndex((s) => !s.skipped);
      expect(trace.steps[firstApplied + 1]?.skipped).toBe(true);
      expect(trace.steps.filter((s) => !s.skipped)).toHaveLength(8);
      const redone = (trace.microBatches ?? []).filter((m) => m.stepsBefore === firstApplied + 2);
      expect(redone.map((m) => m.samples[0])).toEqual([32, 40, 48, 56]);
    });

  it("records each applied step's scheduled rate, AdamW's count and the average", async () => {
    const { trace } = await run(referenceTrainer, {
      ...ALL,
      precision: "fp16",
      overflowStep: 3,
    });
    const scenario = trace.scenario;
    let applied = 0;
    let previous: number[] | null = null;
    for (const step of trace.steps) {
      const average = step.average ?? expect.fail("a step call without its average");
      if (step.skipped) {
        expect(step.update).toBeUndefined();
        expect(average.after).toEqual(average.before);
        if (previous) expect(average.value).toEqual(previous); // no update on a skipped step
      } else {
        expect(step.update?.rule).toBe("other");
        expect(step.update?.learningRate).toBeCloseTo(expectedLearningRate(scenario, applied), 12);
        applied++;
        const from = previous ?? average.before;
        average.value.forEach((value, k) => {
          const expected = 0.9 * (from[k] ?? 0) + 0.1 * (average.after[k] ?? 0);
          expect(Math.abs(value - expected)).toBeLessThan(1e-5 * (1 + Math.abs(expected)));
        });
      }
      expect(step.optimizerSteps).toBe(applied);
      expect(average.value).toHaveLength(2);
      previous = average.value;
    }
    expect(applied).toBe(8);
  });

  it("records plain SGD steps as rule sgd at the scheduled rate, without a count", async () => {
    const { trace } = await run(referenceTrainer, { schedule: "linear", clipNorm: 0.05 });
    const applied = trace.steps.filter((s) => !s.skipped);
    applied.forEach((step, s) => {
      expect(step.update?.rule).toBe("sgd");
      expect(step.update?.learningRate).toBeCloseTo(expectedLearningRate(trace.scenario, s), 12);
      expect(step.optimizerSteps).toBeUndefined();
      expect(step.average).toBeUndefined();
    });
  });
});

/** The seed loops and the schedule step a per-micro-batch tick puts their first step at. */
const SEEDS: Array<{ trainer: Trainer; scheduleStep: number; updates: number }> = [
  { trainer: docsLoopTrainer, scheduleStep: 3, updates: 4 }, // ticks after the step's micro-batch: K - 1
  { trainer: tailStepTrainer, scheduleStep: 3, updates: 4 },
  { trainer: twoLoopTrainer, scheduleStep: 4, updates: 4 }, // ticks before the step: K
  { trainer: kPlusOneTrainer, scheduleStep: 4, updates: 5 }, // K + 1 micro-batches a step
];

describe("the seed loops tick per micro-batch, 128/8/4 over 2 epochs", () => {
  for (const { trainer, scheduleStep, updates } of SEEDS) {
    it(`${trainer.name} fails the schedule: its first step used the rate of step ${scheduleStep}`, async () => {
      const { d } = await run(trainer, { schedule: "cosine", warmupSteps: 2 });
      expect(d.verdict).toBe("fail");
      expect(d.properties.schedule.ok).toBe(false);
      expect(d.properties.schedule.findings[0]).toMatchObject({
        kind: "learning-rate",
        appliedStep: 0,
        scheduleStep,
      });
    });

    it(`${trainer.name} fails averaging: ${updates} updates of the average per step`, async () => {
      const { d } = await run(trainer, { ema: 0.9 });
      expect(d.properties.averaging.ok).toBe(false);
      expect(d.properties.averaging.findings[0]).toMatchObject({
        kind: "average-updates",
        updates,
        expectedUpdates: 1,
      });
    });

    it(`${trainer.name} counts AdamW's steps as the reference does`, async () => {
      const { trace, d } = await run(trainer, { optimizer: "adamw" });
      expect(d.properties.optimizer.ok).toBe(true);
      expect(trace.steps.map((s) => s.optimizerSteps)).toEqual(trace.steps.map((_, k) => k + 1));
    });
  }

  it("docs-loop fails weighting when it clips each micro-batch's running sum", async () => {
    const plain = await run(docsLoopTrainer, {});
    expect(plain.d.verdict).toBe("pass"); // 16 micro-batches, K = 4: no tail to get wrong
    const { d } = await run(docsLoopTrainer, { clipNorm: 0.05 });
    expect(d.properties.weighting.ok).toBe(false);
    expect(d.properties.coverage.ok).toBe(true);
  });

  it("docs-loop loses the window whose fp16 overflow it skips", async () => {
    const { trace, d } = await run(docsLoopTrainer, { precision: "fp16", overflowStep: 2 });
    expect(trace.steps.map((s) => s.skipped)).toEqual([false, true, ...Array(6).fill(false)]);
    expect(d.properties.coverage.ok).toBe(false);
  });
});
