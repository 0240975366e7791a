/**
 * Issue 21 on pytorch-ignite 0.5.5 (trainer `ignite`, with_ignite.py): each step-semantics field
 * alone on N 128, B 8, K 4, 2 epochs (aligned windows: only the step semantics can fail), run
 * through the worker on the real framework. Why each verdict: docs/frameworks.md.
 */
import { afterAll, describe, expect, it } from "vitest";
import { mistakesOf } from "../reports/advice.js";
import { formatCheck } from "../reports/text.js";
import type { ScenarioInput } from "../trainers/contract/scenario.js";
import { disposePythonWorkers } from "../trainers/external/index.js";
import { judgePython, refusedPython, refuted } from "./support/python-checks.js";
import { ALIGNED } from "./support/step-fields.js";

const TRAINER = "python:ignite";
const judge = (fields: Partial<ScenarioInput>) => judgePython(TRAINER, { ...ALIGNED, ...fields });

afterAll(async () => {
  await disposePythonWorkers();
});

describe("ignite: step semantics on 128/8/4 x 2", () => {
  it("refuses clipNorm in one line: Ignite has no clipping option", async () => {
    const message = await refusedPython(TRAINER, { ...ALIGNED, clipNorm: 0.05, model: "logistic" });
    expect(message).toMatch(
      /trainer ignite: --clip-norm 0\.05: pytorch-ignite has no gradient clipping: create_supervised_trainer takes no clip option/,
    );
  });

  it.each([
    // LRScheduler on Events.ITERATION_STARTED ticks before every micro-batch: step s runs at 4s + 3.
    ["cosine, 2 warm-up steps", { schedule: "cosine", warmupSteps: 2 }],
    ["linear", { schedule: "linear" }],
  ] as const)(
    "fails the schedule (%s): LRScheduler ticks once per micro-batch",
    async (_, fields) => {
      const check = await judge(fields);
      expect(check.verdict, formatCheck(check)).toBe("fail");
      expect(refuted(check)).toEqual(["schedule"]);
      const { steps } = check.properties.schedule;
      expect(steps.slice(0, 2).map((s) => s.scheduleStep)).toEqual([3, 7]);
      expect(mistakesOf(check)).toContain("schedule-per-micro-batch");
    },
  );

  it("fails averaging: EMAHandler updates on every ITERATION_COMPLETED, 4 per step", async () => {
    const check = await judge({ ema: 0.9 });
    expect(check.verdict, formatCheck(check)).toBe("fail");
    expect(refuted(check)).toEqual(["averaging"]);
    const { steps } = check.properties.averaging;
    expect(steps.slice(0, 7).map((s) => s.updates)).toEqual([4, 4, 4, 4, 4, 4, 4]);
    expect(steps.every((s) => s.expectedUpdates === 1)).toBe(true);
    expect(mistakesOf(check)).toEqual(["ema-per-micro-batch"]);
  });

  it("passes AdamW: the optimizer counts the 8 applied steps", async () => {
    const check = await judge({ optimizer: "adamw" });
    expect(check.verdict, formatCheck(check)).toBe("pass");
    expect(check.properties.optimizer.applies).toBe(true);
  });

  it("fails an fp16 overflow on the CPU: the run is fp32, no GradScaler skips the inf step", async () => {
    const check = await judge({ precision: "fp16", overflowStep: 2 });
    expect(check.verdict, formatCheck(check)).toBe("fail");
    expect(check.trainerInfo?.precision).toBe("fp32");
    expect(refuted(check)).toEqual(["weighting"]);
    expect(check.properties.weighting.findings[0]).toMatchObject({ kind: "non-finite", step: 1 });
  });
});
