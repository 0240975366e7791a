/**
 * Issue 21 on HuggingFace Accelerate: the documented loop (`accelerate`, `accelerate-uneven`) and
 * the one without the `if accelerator.sync_gradients:` guard around clipping
 * (`accelerate-unguarded`), each step-semantics field alone on 128/8/4 over 2 epochs (aligned
 * windows: only the step semantics can fail), through one worker. The verdicts are what the real
 * framework did (accelerate 1.15, CPU) and are explained in docs/frameworks.md.
 */
import { afterAll, describe, expect, it } from "vitest";
import { mistakesOf } from "../reports/advice.js";
import { formatCheck } from "../reports/text.js";
import { disposePythonWorkers } from "../trainers/external/index.js";
import { judgePython, refuted } from "./support/python-checks.js";
import { ALIGNED, ONE_FIELD as FIELDS, type OneField as Field } from "./support/step-fields.js";

afterAll(async () => {
  await disposePythonWorkers();
});

const judge = (trainer: string, field: Field, worldSize = 1) =>
  judgePython(`python:${trainer}`, { ...ALIGNED, ...FIELDS[field], worldSize });

type Row = [
  trainer: string,
  field: Field,
  worldSize: number,
  verdict: "pass" | "fail",
  mistakes: string[],
];
const row = (
  trainer: string,
  field: Field,
  worldSize: number,
  verdict: "pass" | "fail",
  ...mistakes: string[]
): Row => [trainer, field, worldSize, verdict, mistakes];

/** The measured verdict table: trainer, field, W, verdict, the mistakes a failure shows. */
const VERDICTS: Row[] = [
  ...["accelerate", "accelerate-uneven"].flatMap((trainer) => [
    row(trainer, "clip", 1, "pass"),
    row(trainer, "cosine", 1, "pass"),
    row(trainer, "linear", 1, "pass"),
    row(trainer, "ema", 1, "pass"),
    row(trainer, "adamw", 1, "pass"),
    row(trainer, "overflow", 1, "fail", "unexplained"),
    row(trainer, "clip", 2, "pass"),
    row(trainer, "cosine", 2, "fail", "schedule-per-rank"),
    row(trainer, "linear", 2, "fail", "schedule-per-rank"),
  ]),
  row("accelerate-unguarded", "clip", 1, "fail", "clip-not-once"),
  row("accelerate-unguarded", "cosine", 1, "pass"),
  row("accelerate-unguarded", "linear", 1, "pass"),
  row("accelerate-unguarded", "ema", 1, "pass"),
  row("accelerate-unguarded", "adamw", 1, "pass"),
  row("accelerate-unguarded", "overflow", 1, "fail", "unexplained"),
  row("accelerate-unguarded", "clip", 2, "fail", "clip-not-once"),
  row("accelerate-unguarded", "cosine", 2, "fail", "schedule-per-rank"),
  row("accelerate", "ema", 2, "pass"),
  row("accelerate", "adamw", 2, "pass"),
];

describe("the measured verdicts (128/8/4 x 2)", () => {
  it.each(VERDICTS)(
    "%s with %s at W = %i: %s %j",
    async (trainer, field, worldSize, verdict, mistakes) => {
      const check = await judge(trainer, field, worldSize);
      expect(check.verdict, formatCheck(check)).toBe(verdict);
      expect(mistakesOf(check)).toEqual(mistakes);
      if (field === "ema" && verdict === "pass")
        expect(check.properties.averaging.steps.every((s) => s.updates === 1)).toBe(true);
      if (field === "adamw") expect(check.properties.optimizer.counted).toBe(8 / worldSize);
    },
  );
});

describe("the evidence behind the failures", () => {
  it("fp16 on the CPU trains in fp32 without a scaler: the overflowed window's inf is applied", async () => {
    const check = await judge("accelerate", "overflow");
    expect(check.trainerInfo?.precision).toBe("fp32");
    expect(check.verdict).toBe("fail");
    expect(refuted(check)).toEqual(["weighting"]);
    expect(check.properties.weighting.findings).toContainEqual(
      expect.objectContaining({ kind: "non-finite", step: 1, part: "fingerprint weight" }),
    );
  });

  it("at W = 2 the prepared scheduler ticks once per process at every step", async () => {
    const check = await judge("accelerate", "cosine", 2);
    expect(check.verdict).toBe("fail");
    expect(refuted(check)).toEqual(["schedule"]);
    expect(mistakesOf(check)).toEqual(["schedule-per-rank"]);
    // applied step s = 1 ran at schedule step 2 (W x s), on both ranks
    const second = check.properties.schedule.findings.flatMap((f) =>
      f.kind === "learning-rate" && f.appliedStep === 1 ? [[f.rank, f.scheduleStep]] : [],
    );
    expect(second).toEqual([
      [0, 2],
      [1, 2],
    ]);
  });
});
