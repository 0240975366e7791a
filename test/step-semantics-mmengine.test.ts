/**
 * Issue 21 on mmengine 0.10.7 (trainer `mmengine`, with_mmengine.py): each step-semantics field
 * alone on N 128, B 8, K 4, 2 epochs (aligned windows: only the step semantics can fail), run
 * through the worker on the real framework. Why each verdict: docs/frameworks.md.
 */
import { afterAll, describe, expect, it } from "vitest";
import { mistakesOf } from "../reports/advice.js";
import { formatCheck } from "../reports/text.js";
import type { ScenarioInput } from "../trainers/contract/scenario.js";
import { disposePythonWorkers } from "../trainers/external/index.js";
import { judgePython, refuted } from "./support/python-checks.js";
import { ALIGNED } from "./support/step-fields.js";

const judge = (fields: Partial<ScenarioInput>) =>
  judgePython("python:mmengine", { ...ALIGNED, ...fields });

afterAll(async () => {
  await disposePythonWorkers();
});

describe("mmengine: step semantics on 128/8/4 x 2", () => {
  it("passes clip_grad: OptimWrapper.step clips the window's gradient once", async () => {
    const check = await judge({ clipNorm: 0.05, model: "logistic" });
    expect(check.verdict, formatCheck(check)).toBe("pass");
    expect(check.properties.weighting.ok).toBe(true);
  });

  it.each([
    // ParamSchedulerHook.after_train_iter steps a by_epoch=False scheduler after every micro-batch.
    ["cosine, 2 warm-up steps", { schedule: "cosine", warmupSteps: 2 }],
    ["linear", { schedule: "linear" }],
  ] as const)(
    "fails the schedule (%s): the scheduler ticks once per micro-batch",
    async (_, fields) => {
      const check = await judge(fields);
      expect(check.verdict, formatCheck(check)).toBe("fail");
      expect(refuted(check)).toEqual(["schedule"]);
      expect(check.properties.schedule.steps[0]?.scheduleStep).toBe(3);
      expect(mistakesOf(check)).toContain("schedule-per-micro-batch");
    },
  );

  it("fails averaging: EMAHook updates after every iteration, 4 per step", async () => {
    const check = await judge({ ema: 0.9 });
    expect(check.verdict, formatCheck(check)).toBe("fail");
    expect(refuted(check)).toEqual(["averaging"]);
    const { steps } = check.properties.averaging;
    expect(steps.slice(0, 7).map((s) => s.updates)).toEqual([4, 4, 4, 4, 4, 4, 4]);
    expect(mistakesOf(check)).toEqual(["ema-per-micro-batch"]);
  });

  it("passes AdamW: the optimizer counts the 8 applied steps", async () => {
    const check = await judge({ optimizer: "adamw" });
    expect(check.verdict, formatCheck(check)).toBe("pass");
    expect(check.properties.optimizer.applies).toBe(true);
  });

  it("fails an fp16 overflow on the CPU: AmpOptimWrapper needs a GPU, the fp32 run applies the inf step", async () => {
    const check = await judge({ precision: "fp16", overflowStep: 2 });
    expect(check.verdict, formatCheck(check)).toBe("fail");
    expect(check.trainerInfo?.precision).toBe("fp32");
    expect(refuted(check)).toEqual(["weighting"]);
    expect(check.properties.weighting.findings[0]).toMatchObject({ kind: "non-finite", step: 1 });
  });
});
