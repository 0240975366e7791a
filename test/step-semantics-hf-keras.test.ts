/**
 * Issue 21 on HF transformers' Trainer 5.24 (trainers `hf-trainer`, `hf-trainer-items`,
 * `hf-trainer-items-uneven`, `hf-trainer-kwargs`; with_hf_trainer.py) and Keras 3.15 on torch
 * (trainer `keras`; with_keras.py): each step-semantics field alone on N 128, B 8, K 4, 2 epochs
 * (aligned windows: only the step semantics can fail), run through one worker on the real
 * framework (CPU). Why each verdict: docs/frameworks.md.
 */
import { afterAll, describe, expect, it } from "vitest";
import type { CheckJudgement } from "../properties/outcome.js";
import { mistakesOf } from "../reports/advice.js";
import { formatCheck } from "../reports/text.js";
import type { ScenarioInput } from "../trainers/contract/scenario.js";
import { disposePythonWorkers } from "../trainers/external/index.js";
import { judgePython, refusedPython, refuted } from "./support/python-checks.js";
import { ALIGNED } from "./support/step-fields.js";

const judge = (trainer: string, fields: Partial<ScenarioInput>) =>
  judgePython(`python:${trainer}`, { ...ALIGNED, ...fields });

afterAll(async () => {
  await disposePythonWorkers();
});

/** The one-line refusal a trainer gives for one of its fields. */
const refusal = (trainer: string, fields: Partial<ScenarioInput>) =>
  refusedPython(`python:${trainer}`, { ...ALIGNED, ...fields });

/** The schedule steps rank 0's applied steps ran at. */
const scheduleSteps = (check: CheckJudgement) =>
  check.properties.schedule.steps.map((s) => s.scheduleStep);

/**
 * hf-trainer-kwargs divides no loss by K (HF takes a `**kwargs` forward for one that normalises
 * itself): every window weighs K times its due, whatever the step semantics. Clipping to 0.05
 * rescales that window to the same norm as the right one, so it passes under --clip-norm.
 */
const BASELINE: Record<string, string[]> = { "hf-trainer-kwargs": ["weighting"] };

describe.each(["hf-trainer", "hf-trainer-items", "hf-trainer-items-uneven", "hf-trainer-kwargs"])(
  "%s: step semantics on 128/8/4 x 2",
  (trainer) => {
    const baseline = BASELINE[trainer] ?? [];

    it("refuses ema in one line: the Trainer keeps no average", async () => {
      expect(await refusal(trainer, { ema: 0.9 })).toMatch(
        new RegExp(
          `trainer ${trainer}: --ema 0\\.9: transformers' Trainer keeps no moving average of the weights`,
        ),
      );
    });

    it("passes max_grad_norm: clipped once per step, after the window's last backward", async () => {
      const check = await judge(trainer, { clipNorm: 0.05, model: "logistic" });
      expect(check.verdict, formatCheck(check)).toBe("pass");
    });

    it.each([
      ["cosine, 2 warm-up steps (lr_scheduler_type)", { schedule: "cosine", warmupSteps: 2 }],
      ["linear (lr_scheduler_type)", { schedule: "linear" }],
      ["step (optimizers=(optimizer, LambdaLR))", { schedule: "step" }],
      [
        "constant, 2 warm-up steps (constant_with_warmup)",
        { schedule: "constant", warmupSteps: 2 },
      ],
    ] as const)("passes the schedule %s: one tick per applied step", async (_, fields) => {
      const check = await judge(trainer, fields);
      expect(refuted(check), formatCheck(check)).toEqual(baseline);
      expect(check.properties.schedule.applies).toBe(true);
      expect(scheduleSteps(check)).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    });

    it('passes optim="adamw_torch": AdamW counts the 8 applied steps', async () => {
      const check = await judge(trainer, { optimizer: "adamw" });
      expect(refuted(check), formatCheck(check)).toEqual(baseline);
      expect(check.properties.optimizer).toMatchObject({
        applies: true,
        counted: 8,
        appliedSteps: 8,
      });
    });

    it("fails an fp16 overflow on the CPU: fp32 without a GradScaler applies the inf gradient", async () => {
      const check = await judge(trainer, { precision: "fp16", overflowStep: 2 });
      expect(check.verdict, formatCheck(check)).toBe("fail");
      expect(check.trainerInfo?.precision).toBe("fp32");
      expect(check.properties.weighting.findings).toContainEqual(
        expect.objectContaining({ kind: "non-finite" }),
      );
      expect(check.properties.windowing.appliedSteps).toBe(8); // nothing skipped
    });
  },
);

describe("keras: step semantics on 128/8/4 x 2", () => {
  it("passes global_clipnorm: the averaged window clipped once per applied step", async () => {
    const check = await judge("keras", { clipNorm: 0.05, model: "logistic" });
    expect(check.verdict, formatCheck(check)).toBe("pass");
  });

  it.each([
    ["cosine, 2 warm-up steps", { schedule: "cosine", warmupSteps: 2 }],
    ["step", { schedule: "step" }],
  ] as const)(
    "fails the LearningRateSchedule (%s): Keras passes it _iterations, a count of micro-batches",
    async (_, fields) => {
      const check = await judge("keras", fields);
      expect(check.verdict, formatCheck(check)).toBe("fail");
      expect(refuted(check)).toEqual(["schedule"]);
      // Step s ran at the schedule's step K s + K - 1 (a cosine rate may also belong to another step).
      for (const step of check.properties.schedule.steps.slice(0, 3))
        expect(step.scheduleSteps).toContain(4 * step.appliedStep + 3);
      expect(mistakesOf(check)).toContain("schedule-per-micro-batch");
    },
  );

  it("fails the linear schedule: at 4 s + 3 the rate is 0 from step 2 on, steps that move nothing", async () => {
    // record_step(rate=) records each step's rate, 0 included: a rate-0 step moving nothing is no
    // missing update, and the schedule property names the rate.
    const check = await judge("keras", { schedule: "linear" });
    expect(check.verdict, formatCheck(check)).toBe("fail");
    expect(refuted(check)).toEqual(["schedule"]);
    expect(scheduleSteps(check).slice(0, 2)).toEqual([3, 7]);
    expect(check.properties.schedule.steps.slice(2).map((s) => s.used)).toEqual(Array(6).fill(0));
    expect(mistakesOf(check)).toEqual(["schedule-per-micro-batch"]);
  });

  it("fails use_ema: the average updates on every apply, 4 per step", async () => {
    const check = await judge("keras", { ema: 0.9 });
    expect(check.verdict, formatCheck(check)).toBe("fail");
    // fit's finalize_variable_values copies the average into the weights after the last step:
    // the recorder takes that copy as the average's, not as an update outside the steps.
    expect(refuted(check)).toEqual(["averaging"]);
    // Step 1 copies (momentum 0 while iterations is 0); the last has no micro-batch after it.
    expect(check.properties.averaging.steps.map((s) => s.updates)).toEqual([
      1, 4, 4, 4, 4, 4, 4, 1,
    ]);
    expect(mistakesOf(check)).toEqual(["ema-per-micro-batch"]);
  });

  it("passes AdamW: its count, optimizer.iterations (_iterations // K), counts applied steps", async () => {
    const check = await judge("keras", { optimizer: "adamw" });
    expect(check.verdict, formatCheck(check)).toBe("pass");
    expect(check.properties.optimizer).toMatchObject({ applies: true, counted: 8 });
  });

  it("fails an fp16 overflow: runs fp32 without a loss scaler and applies the inf gradient", async () => {
    const check = await judge("keras", { precision: "fp16", overflowStep: 2 });
    expect(check.verdict, formatCheck(check)).toBe("fail");
    expect(check.trainerInfo?.precision).toBe("fp32");
    expect(check.properties.weighting.findings).toContainEqual(
      expect.objectContaining({ kind: "non-finite" }),
    );
    expect(check.properties.windowing.appliedSteps).toBe(8);
  });
});
