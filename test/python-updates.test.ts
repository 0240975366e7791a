/**
 * Users' PyTorch trainers whose updates are not what their steps' gradients say
 * (trainers/python/tests/update_trainers.py), each checked end to end through the worker: every
 * gradient the recorder reads is right, so only what the steps did to the parameters fails them,
 * with a finding and advice that name what happened. The correct loops pass.
 */
import { delimiter, join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { adviceFor, type MistakeId, mistakesOf } from "../reports/advice.js";
import { formatCheck } from "../reports/text.js";
import { disposePythonWorkers } from "../trainers/external/index.js";
import { judgePython, refuted } from "./support/python-checks.js";

// The users' trainers are importable as update_trainers:FUNCTION, as a user's module would be.
const trainers = join(import.meta.dirname, "..", "trainers", "python", "tests");
process.env.PYTHONPATH = [trainers, process.env.PYTHONPATH].filter(Boolean).join(delimiter);

afterAll(async () => {
  await disposePythonWorkers();
});

const SCENARIO = {
  datasetSize: 22,
  batchSize: 4,
  accumulation: 2,
  epochs: 2,
  model: "logistic",
} as const;

describe("what a PyTorch trainer's steps did to the parameters", () => {
  it.each(["correct", "adamw", "two_optimizers"])("update_trainers:%s passes", async (name) => {
    const check = await judgePython(`python:update_trainers:${name}`, SCENARIO);
    expect(check.verdict, formatCheck(check)).toBe("pass");
  });

  it.each([
    [
      "no_op_step",
      "update-not-applied",
      /^step 1 \(epoch 1\) moved no parameter although its gradient was not zero/,
    ],
    ["skips_every_second", "update-not-applied", /^step 2 \(epoch 1\) moved no parameter/],
    ["zero_learning_rate", "update-not-applied", /\(its learning rate was 0\)/],
    [
      "manual_update_after_step",
      "update-applied-twice",
      /^8 fingerprint entries and 4 body parameters changed between steps 1 and 2, outside any optimizer step \(largest change [^)]+\): step 1's update applied again, so its gradient was applied twice in all/,
    ],
    [
      "edits_fingerprint",
      "parameters-changed-outside-step",
      /^44 fingerprint entries changed between steps 2 and 3, outside any optimizer step \(largest change 0\.1\)$/,
    ],
    [
      "scales_body",
      "parameters-changed-outside-step",
      /^4 body parameters changed between steps 1 and 2/,
    ],
  ] as const)("update_trainers:%s fails weighting with %s", async (name, id, evidence) => {
    const check = await judgePython(`python:update_trainers:${name}`, SCENARIO);
    expect(check.verdict).toBe("fail");
    expect(refuted(check)).toEqual(["weighting"]);
    expect(mistakesOf(check)).toEqual<MistakeId[]>([id]);
    const [advice] = adviceFor(check);
    expect(advice?.evidence[0]?.shows).toMatch(evidence);
    expect(formatCheck(check)).toContain("✗ weighting");
  });

  it("update_trainers:patched_step (optimizer.step = lambda: None) runs no step, and says so", async () => {
    const check = await judgePython("python:update_trainers:patched_step", SCENARIO);
    expect(check.verdict).toBe("fail");
    expect(mistakesOf(check)).toEqual<MistakeId[]>(["no-step"]);
    const [advice] = adviceFor(check);
    expect(advice?.evidence[0]?.shows).toBe(
      "the loop fed 6 micro-batches in each of 2 epochs and no optimizer step ran (step() was never called, or never reached the optimizer): no sample was applied",
    );
    expect(advice?.cause).toContain("optimizer.step = lambda: None");
  });
});
