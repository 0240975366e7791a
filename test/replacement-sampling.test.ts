/**
 * Loops without epochs, as nanoGPT's train.py draws them (trainers/python/tests/nanogpt_loops.py):
 * audited with --sampling replacement --steps S, and, by mistake, by epochs.
 */
import { spawnSync } from "node:child_process";
import { delimiter, join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { detectMistakes } from "../reports/mistakes/index.js";
import { explainCheck, propertyMessage } from "../reports/sentences/index.js";
import { formatCheck } from "../reports/text.js";
import { disposePythonWorkers } from "../trainers/external/index.js";
import { judgePython } from "./support/python-checks.js";

const root = join(import.meta.dirname, "..");
const loops = join(root, "trainers", "python", "tests");
// The users' loops are importable as nanogpt_loops:FUNCTION, as a user's module would be.
process.env.PYTHONPATH = [loops, process.env.PYTHONPATH].filter(Boolean).join(delimiter);

const DRAWN = {
  datasetSize: 50,
  batchSize: 4,
  accumulation: 3,
  sampling: "replacement",
  steps: 5,
} as const;
const FLAGS = ["--dataset-size", "50", "--batch-size", "4", "--accumulation", "3"];

function cli(...args: string[]) {
  const run = spawnSync(process.execPath, [join(root, "dist", "cli", "main.js"), ...args], {
    cwd: root,
    encoding: "utf8",
    timeout: 120_000,
  });
  return { code: run.status, stdout: run.stdout, stderr: run.stderr };
}

afterAll(async () => {
  await disposePythonWorkers();
});

describe("a loop that draws with replacement", () => {
  it("nanoGPT's loop passes check --sampling replacement --steps 5 (exit 0)", () => {
    const run = cli(
      "check",
      "--trainer",
      "python:nanogpt_loops:train",
      "--sampling",
      "replacement",
      "--steps",
      "5",
      ...FLAGS,
    );
    expect(run.stderr).toBe("");
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(
      /^PASS {2}python:nanogpt_loops:train \(pytorch [^)]+\) {2}N 50 · B 4 · K 3 · 5 steps drawn with replacement\n/,
    );
    expect(run.stdout).toContain("✓ coverage   every draw applied exactly once (60 draws)");
    expect(run.stdout).toContain(
      "✓ windowing  5 applied steps, one per window of 3 drawn micro-batches",
    );
  });

  it("--epochs 2 beside --sampling replacement is a one-line usage error (exit 2)", () => {
    const run = cli(
      "check",
      "--trainer",
      "python:nanogpt_loops:train",
      "--sampling",
      "replacement",
      "--steps",
      "5",
      "--epochs",
      "2",
      ...FLAGS,
    );
    expect(run.code).toBe(2);
    expect(run.stdout).toBe("");
    expect(run.stderr.trim()).toBe(
      "accumaudit: --epochs: expected 1 under replacement sampling (a run that draws with replacement has no epochs; set steps), saw 2",
    );
    const noSteps = cli(
      "check",
      "--trainer",
      "python:reference",
      "--sampling",
      "replacement",
      ...FLAGS,
    );
    expect(noSteps.code).toBe(2);
    expect(noSteps.stderr).toContain(
      "--steps: expected the optimizer steps the run takes under replacement sampling, saw none",
    );
  });

  it("a built-in TensorFlow.js trainer refuses a run that draws with replacement in one line", () => {
    const run = cli(
      "check",
      "--trainer",
      "reference",
      "--sampling",
      "replacement",
      "--steps",
      "5",
      ...FLAGS,
    );
    expect(run.code).toBe(2);
    expect(run.stdout).toMatch(
      /^ERROR {2}reference .*\n {2}error: reference: sampling replacement: expected epochs \(/,
    );
  });

  it("audit refuses replacement sampling and points to check", () => {
    const run = cli("audit", "--sampling", "replacement", "--steps", "5");
    expect(run.code).toBe(2);
    expect(run.stderr.trim()).toMatch(
      /^accumaudit: --sampling: expected epochs \(audit searches runs over epochs\), saw replacement; check a loop that draws with replacement with `accumaudit check --sampling replacement --steps S`$/,
    );
  });

  it("the same loop without zero_grad applies draws twice, and the advice says to clear the gradient", async () => {
    const check = await judgePython("python:nanogpt_loops:train_without_zero_grad", DRAWN);
    expect(check.verdict).toBe("fail");
    expect(check.properties.coverage.findings.every((f) => f.kind === "duplicated-draws")).toBe(
      true,
    );
    expect(check.properties.coverage.findings.length).toBeGreaterThan(0);
    expect(detectMistakes(check)[0]?.id).toBe("applied-twice");
    expect(formatCheck(check)).not.toMatch(/epoch|tail/i);
  });

  it("a loop that draws every window but steps one time fewer loses the last window's draws", async () => {
    const check = await judgePython("python:nanogpt_loops:train_one_step_short", DRAWN);
    expect(check.properties.coverage.findings).toEqual([
      expect.objectContaining({ kind: "lost-draws", window: 4, draws: 12, skippedStep: null }),
    ]);
    expect(propertyMessage(check, "coverage")).toMatch(
      /^48 of 60 draws of the 5 windows applied exactly once; 12 draws of window 5 never applied \(samples /,
    );
    expect(detectMistakes(check).map((m) => m.id)).toEqual(["draws-never-stepped"]);
    expect(formatCheck(check)).not.toMatch(/epoch|tail/i);
  });

  it("the replacement reference passes with an MLP body in fp16", async () => {
    const check = await judgePython("python:replacement-reference", {
      ...DRAWN,
      model: "mlp",
      precision: "fp16",
    });
    expect(check.verdict).toBe("pass");
  });

  it("audited by epochs, nanoGPT's loop is recognised as drawing with replacement, no epoch tail named", async () => {
    const check = await judgePython("python:nanogpt_loops:train", {
      datasetSize: 50,
      batchSize: 4,
      accumulation: 3,
    });
    expect(check.verdict).toBe("fail");
    expect(propertyMessage(check, "coverage")).toMatch(
      /^the loop draws samples with replacement \(sample \d+ .* of epoch 1.*; \d+ samples never drawn\): coverage per epoch does not apply; audit it with --sampling replacement --steps 5$/,
    );
    const ids = detectMistakes(check).map((m) => m.id);
    expect(ids).toEqual(["draws-with-replacement"]);
    expect(explainCheck(check)).not.toMatch(/tail|leak/i);
  });
});
