/**
 * Issue 21 on fastai 2.8.12 (trainers `fastai`, `fastai-native`: with_fastai.py, fastai_steps.py)
 * and Poutyne 1.19.0 (trainer `poutyne`: with_poutyne.py): each step-semantics field alone on
 * N 128, B 8, K 4, 2 epochs (aligned windows: only the step semantics can fail), run through the
 * worker on the real frameworks (CPU). Why each verdict: docs/frameworks.md.
 */
import { afterAll, describe, expect, it } from "vitest";
import { mistakesOf } from "../reports/advice.js";
import { formatCheck } from "../reports/text.js";
import type { ScenarioInput } from "../trainers/contract/scenario.js";
import { disposePythonWorkers } from "../trainers/external/index.js";
import { judgePython, refusedPython, refuted } from "./support/python-checks.js";
import { ALIGNED } from "./support/step-fields.js";

const judge = (trainer: string, fields: Partial<ScenarioInput>) =>
  judgePython(`python:${trainer}`, { ...ALIGNED, ...fields });

/** The one-line refusal a trainer gives for one of its fields. */
const refusal = (trainer: string, fields: Partial<ScenarioInput>) =>
  refusedPython(`python:${trainer}`, { ...ALIGNED, ...fields });

afterAll(async () => {
  await disposePythonWorkers();
});

describe.each(["fastai", "fastai-native"])("%s: step semantics on 128/8/4 x 2", (trainer) => {
  it("refuses ema in one line: fastai has no weight-averaging callback", async () => {
    expect(await refusal(trainer, { ema: 0.9 })).toMatch(
      new RegExp(`trainer ${trainer}: --ema 0\\.9: fastai 2\\.8 has no weight-averaging callback`),
    );
  });

  it("passes clipping: GradientClip runs only on the micro-batch GradientAccumulation lets step", async () => {
    const check = await judge(trainer, { clipNorm: 0.05, model: "logistic" });
    expect(check.verdict, formatCheck(check)).toBe("pass");
    expect(formatCheck(check)).toMatch(/clipped once per step to norm 0\.05/);
  });

  it("passes a linear schedule: ParamScheduler at lr * f(floor(pct * T))", async () => {
    const check = await judge(trainer, { schedule: "linear" });
    expect(check.verdict, formatCheck(check)).toBe("pass");
    const { steps } = check.properties.schedule;
    expect(steps.map((s) => s.scheduleStep)).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
  });

  it("fails an fp16 overflow on the CPU: MixedPrecision is CUDA-only, the inf step is applied", async () => {
    const check = await judge(trainer, { precision: "fp16", overflowStep: 2 });
    expect(check.verdict, formatCheck(check)).toBe("fail");
    expect(check.trainerInfo?.precision).toBe("fp32");
    expect(refuted(check)).toEqual(["weighting"]);
    expect(check.properties.weighting.findings[0]).toMatchObject({ kind: "non-finite", step: 1 });
  });
});

describe("fastai (torch optimizer through OptimWrapper)", () => {
  it("passes cosine with 2 warm-up steps: every step at its own schedule step", async () => {
    const check = await judge("fastai", { schedule: "cosine", warmupSteps: 2 });
    expect(check.verdict, formatCheck(check)).toBe("pass");
    expect(check.properties.schedule.steps.map((s) => s.scheduleStep)).toEqual([
      0, 1, 2, 3, 4, 5, 6, 7,
    ]);
  });

  it("passes AdamW: torch's AdamW counts the 8 applied steps", async () => {
    const check = await judge("fastai", { optimizer: "adamw" });
    expect(check.verdict, formatCheck(check)).toBe("pass");
    expect(check.properties.optimizer).toMatchObject({ applies: true, counted: 8 });
  });
});

describe("fastai-native (fastai's own optimizers, recorded with ctx.record_step)", () => {
  it("passes cosine with 2 warm-up steps: the rate-0 first step is recorded with its rate", async () => {
    const check = await judge("fastai-native", { schedule: "cosine", warmupSteps: 2 });
    expect(check.verdict, formatCheck(check)).toBe("pass");
    const { steps } = check.properties.schedule;
    expect(steps.map((s) => s.scheduleStep)).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
  });

  it('passes AdamW (fastai\'s Adam, decouple_wd): its state[p]["step"] counts the 8 applied steps', async () => {
    const check = await judge("fastai-native", { optimizer: "adamw" });
    expect(check.verdict, formatCheck(check)).toBe("pass");
    expect(check.properties.optimizer).toMatchObject({ applies: true, counted: 8 });
  });
});

describe("poutyne: step semantics on 128/8/4 x 2", () => {
  it.each([
    [{ ema: 0.9 }, /trainer poutyne: --ema 0\.9: Poutyne 1\.19 has no weight-averaging callback/],
    [
      { precision: "fp16", overflowStep: 2 },
      /trainer poutyne: --overflow-step 2: Poutyne has no mixed-precision training/,
    ],
  ] as const)("refuses %o in one line", async (fields, line) => {
    expect(await refusal("poutyne", fields)).toMatch(line);
  });

  it("fails clipping: ClipNorm clips in on_backward_end, every micro-batch's running sum", async () => {
    const check = await judge("poutyne", { clipNorm: 0.05, model: "logistic" });
    expect(check.verdict, formatCheck(check)).toBe("fail");
    expect(refuted(check)).toEqual(["weighting"]);
    const [first] = check.properties.weighting.findings;
    expect(first).toMatchObject({ kind: "step-weights", step: 0 });
    expect(mistakesOf(check)).toEqual(["clip-not-once"]);
  });

  it.each([
    // f(0) = 1 and f(1) = 7/8 of lr 0.1; cosine with 2 warm-up steps: f(0) = 0, f(1) = 1/2.
    ["linear", { schedule: "linear" }, [0.1, 0.0875]],
    ["cosine, 2 warm-up steps", { schedule: "cosine", warmupSteps: 2 }, [0, 0.05]],
  ] as const)(
    "fails the schedule (%s): the LambdaLR callback ticks in on_epoch_end, one rate per epoch",
    async (_, fields, [first, second]) => {
      const check = await judge("poutyne", fields);
      expect(check.verdict, formatCheck(check)).toBe("fail");
      expect(refuted(check)).toEqual(["schedule"]);
      const used = check.properties.schedule.steps.map((s) => s.used ?? Number.NaN);
      expect(used).toHaveLength(8);
      used.forEach((rate, s) => {
        expect(rate).toBeCloseTo(s < 4 ? first : second, 12);
      });
      expect(mistakesOf(check)).toEqual(["schedule-per-epoch"]);
    },
  );

  it("passes AdamW: one optimizer.step per window, 8 counted", async () => {
    const check = await judge("poutyne", { optimizer: "adamw" });
    expect(check.verdict, formatCheck(check)).toBe("pass");
    expect(check.properties.optimizer).toMatchObject({ applies: true, counted: 8 });
  });
});
