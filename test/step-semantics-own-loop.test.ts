/**
 * Issue 21 for a user's own loop: the RunContext's clipping, schedule, average and AdamW
 * (trainers/python/API.md, "Step semantics"), checked end to end through the worker on 128/8/4
 * over 2 epochs, where every window is whole so that only the step semantics can fail. The
 * reference loops and the correct example pass every field at once; each broken example fails
 * the property it breaks and the advice names its mistake; the property search finds each.
 */
import { delimiter, join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { auditTrainer } from "../properties/audit.js";
import { mistakesOf } from "../reports/advice.js";
import { disposePythonWorkers } from "../trainers/external/index.js";
import { judgePython, pythonTrainer, refuted } from "./support/python-checks.js";
import { ALIGNED } from "./support/step-fields.js";

const examples = join(import.meta.dirname, "..", "trainers", "python", "examples");
process.env.PYTHONPATH = [examples, process.env.PYTHONPATH].filter(Boolean).join(delimiter);

afterAll(async () => {
  await disposePythonWorkers();
});

const EVERY_FIELD = {
  ...ALIGNED,
  model: "logistic",
  clipNorm: 0.05,
  schedule: "cosine",
  warmupSteps: 2,
  ema: 0.9,
  optimizer: "adamw",
} as const;

describe("a correct loop passes every step property", () => {
  it.each([
    ["python:reference", EVERY_FIELD],
    ["python:my_scheduled_loop:train", EVERY_FIELD],
    [
      "python:reference",
      { ...ALIGNED, precision: "fp16", overflowStep: 2, schedule: "linear", ema: 0.9 },
    ],
    ["python:ddp-reference", { ...EVERY_FIELD, worldSize: 2 }],
  ] as const)(
    "%s on %o",
    async (trainer, scenario) => {
      const check = await judgePython(trainer, scenario);
      expect(refuted(check)).toEqual([]);
      expect(check.verdict).toBe("pass");
      expect(check.properties.schedule.applies).toBe(true);
      expect(check.properties.averaging.steps.every((s) => s.updates === s.expectedUpdates)).toBe(
        true,
      );
    },
    120_000,
  );
});

describe("a broken loop fails the property it breaks, with its mistake named", () => {
  it.each([
    [
      "scheduler_per_micro_batch",
      { ...ALIGNED, schedule: "cosine", warmupSteps: 2 },
      ["schedule"],
      "schedule-per-micro-batch",
    ],
    [
      "clip_per_micro_batch",
      { ...ALIGNED, model: "logistic", clipNorm: 0.05 },
      ["weighting"],
      "clip-not-once",
    ],
    ["ema_per_micro_batch", { ...ALIGNED, ema: 0.9 }, ["averaging"], "ema-per-micro-batch"],
    [
      "scheduler_on_skipped_step",
      { ...ALIGNED, schedule: "linear", precision: "fp16", overflowStep: 2 },
      ["schedule"],
      "schedule-on-skipped-step",
    ],
  ] as const)(
    "%s",
    async (name, scenario, properties, mistake) => {
      const check = await judgePython(`python:my_broken_step_loops:${name}`, scenario);
      expect(check.verdict).toBe("fail");
      expect(refuted(check)).toEqual(properties);
      expect(mistakesOf(check)).toEqual([mistake]);
    },
    120_000,
  );
});

describe("the property search with --step-semantics", () => {
  it("finds and shrinks a per-micro-batch average, and passes the reference", async () => {
    const space = { stepSemantics: true, maxDatasetSize: 48 };
    const broken = await auditTrainer(
      pythonTrainer("python:my_broken_step_loops:ema_per_micro_batch"),
      {
        runs: 30,
        seed: 5,
        space,
      },
    );
    expect(broken.verdict).toBe("fail");
    const found = broken.search.kind === "refuted" ? broken.search.counterexample.check : null;
    expect(found?.scenario.ema).toBeDefined();
    expect(found?.properties.averaging.ok).toBe(false);
    const reference = await auditTrainer(pythonTrainer("python:reference"), {
      runs: 15,
      seed: 5,
      space,
    });
    expect(reference.search.kind).toBe("passed");
  }, 300_000);

  it("draws only the fields a trainer honours: poutyne (no average, no fp16) fails, never errs", async () => {
    const poutyne = pythonTrainer("python:poutyne");
    expect(await poutyne.stepFields?.()).toEqual([
      "clipNorm",
      "schedule",
      "warmupSteps",
      "optimizer",
    ]);
    expect(await pythonTrainer("python:my_scheduled_loop:train").stepFields?.()).toHaveLength(6);
    const audit = await auditTrainer(poutyne, {
      runs: 10,
      seed: 4,
      space: {
        stepSemantics: true,
        precisions: ["fp32", "fp16"],
        pinned: { datasetSize: 128, batchSize: 8, accumulation: 4, worldSize: 1 },
        maxDatasetSize: 128,
      },
    });
    expect(audit.search.kind).toBe("refuted");
    const shrunk = audit.search.kind === "refuted" ? audit.search.counterexample.check : null;
    expect(shrunk?.scenario.ema).toBeUndefined();
    expect(shrunk?.scenario.overflowStep).toBeUndefined();
    expect(shrunk?.properties.schedule.ok && shrunk?.properties.weighting.ok).toBe(false);
  }, 300_000);
});
