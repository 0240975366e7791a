/**
 * Issue 21 on PyTorch Lightning (`lightning`): `Trainer(gradient_clip_val=C,
 * gradient_clip_algorithm="norm")`, `configure_optimizers` returning the scheduler with
 * `"interval": "step"`, the `EMAWeightAveraging` callback and the scenario's AdamW, each field alone
 * on 128/8/4 over 2 epochs (aligned windows: only the step semantics can fail), through one
 * worker. The verdicts are what the real framework did (lightning 2.6.6, CPU) and are explained in
 * docs/frameworks.md.
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

const judge = (field: Field, worldSize = 1) =>
  judgePython("python:lightning", { ...ALIGNED, ...FIELDS[field], worldSize });

type Row = [field: Field, worldSize: number, verdict: "pass" | "fail", mistakes: string[]];

/** The measured verdict table: field, W, verdict, the mistakes a failure shows. */
const VERDICTS: Row[] = [
  ["clip", 1, "pass", []],
  ["cosine", 1, "pass", []],
  ["linear", 1, "pass", []],
  ["ema", 1, "pass", []],
  ["adamw", 1, "pass", []],
  ["overflow", 1, "fail", ["unexplained"]],
  ["clip", 2, "pass", []],
  ["cosine", 2, "pass", []],
  ["linear", 2, "pass", []],
  ["ema", 2, "pass", []],
  ["adamw", 2, "pass", []],
];

describe("the measured verdicts (128/8/4 x 2)", () => {
  it.each(VERDICTS)("%s at W = %i: %s %j", async (field, worldSize, verdict, mistakes) => {
    const check = await judge(field, worldSize);
    expect(check.verdict, formatCheck(check)).toBe(verdict);
    expect(mistakesOf(check)).toEqual(mistakes);
    if (field === "adamw") expect(check.properties.optimizer.counted).toBe(8 / worldSize);
  });
});

describe("the evidence behind the failures", () => {
  it("EMAWeightAveraging updates once per step, then copies the average into the model at the end, which is no change to judge", async () => {
    const check = await judge("ema");
    expect(check.properties.averaging.ok).toBe(true);
    expect(check.properties.averaging.steps.map((s) => s.updates)).toEqual(Array(8).fill(1));
    // on_train_end writes the average over the trained weights: the recorder sees the parameters
    // equal the watched average, so that final copy is not an outside change.
    expect(refuted(check)).toEqual([]);
  });

  it("16-mixed on the CPU becomes bf16-mixed, without a scaler: the overflowed window's inf is applied", async () => {
    const check = await judge("overflow");
    expect(check.trainerInfo?.precision).toBe("bf16");
    expect(refuted(check)).toEqual(["weighting"]);
    expect(check.properties.weighting.findings).toContainEqual(
      expect.objectContaining({ kind: "non-finite", step: 1, part: "fingerprint weight" }),
    );
  });
});
