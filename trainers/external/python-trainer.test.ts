import { afterAll, describe, expect, it } from "vitest";
import { stepWeights } from "../../test/support/step-weights.js";
import { makeDataset } from "../contract/probe.js";
import { parseScenario, type ScenarioInput } from "../contract/scenario.js";
import type { Step } from "../contract/trace.js";
import { TrainerError } from "../contract/trainer.js";
import {
  createPythonTrainer,
  disposePythonWorkers,
  PYTHON_TRAINER_NAMES,
  pythonWorker,
  setTrainerOutput,
} from "./python-trainer.js";

const base: ScenarioInput = {
  datasetSize: 110,
  batchSize: 8,
  accumulation: 4,
  epochs: 2,
  model: "logistic",
};

async function trace(name: string, overrides: Partial<ScenarioInput> = {}) {
  const scenario = parseScenario({ ...base, ...overrides });
  return createPythonTrainer(name).run(scenario, makeDataset(scenario));
}

/** Weight per "epoch:sample" in one step. */
function weights(step: Step | undefined): Map<string, number> {
  return step ? stepWeights(step) : new Map();
}

afterAll(async () => {
  await disposePythonWorkers();
});

describe("python worker, plain loops on 110 samples / micro-batch 8 / K 4 / 2 epochs", () => {
  it("python:docs-loop applies 3 steps of 1/32 in epoch 0 and leaks the tail into epoch 1", async () => {
    const t = await trace("python:docs-loop");
    expect(t.trainer).toMatchObject({
      name: "python:docs-loop",
      framework: "pytorch",
      device: "cpu",
    });
    expect(t.steps.map((s) => s.epoch)).toEqual([0, 0, 0, 1, 1, 1]);
    for (const w of weights(t.steps[0]).values()) expect(w).toBe(1 / 32);
    const leak = weights(t.steps[3]);
    expect([...leak.keys()].filter((k) => k.startsWith("0:"))).toHaveLength(14);
    expect(leak.get("0:100")).toBe(1 / 32);
    expect(leak.get("1:0")).toBe(1 / 32);
    expect(t.microBatches).toHaveLength(28);
    expect(t.microBatches?.[13]).toEqual({
      epoch: 0,
      samples: [104, 105, 106, 107, 108, 109],
      stepsBefore: 3,
      rank: 0,
    });
    expect(t.steps[0]?.body?.parametersBefore).toHaveLength(4);
  });

  it("python:tail-step steps at the tail with the too-small weight 1/32", async () => {
    const t = await trace("python:tail-step");
    expect(t.steps).toHaveLength(8);
    expect(weights(t.steps[3]).get("0:109")).toBeCloseTo(1 / 4 / 6, 7);
    expect(weights(t.steps[3]).get("0:96")).toBe(1 / 32);
  });

  it("python:two-loop weights per micro-batch in the tail window", async () => {
    const t = await trace("python:two-loop");
    expect(weights(t.steps[3]).get("0:96")).toBe(1 / 16);
    expect(weights(t.steps[3]).get("0:109")).toBeCloseTo(1 / 12, 7);
  });

  it("python:k-plus-one steps every 5 micro-batches", async () => {
    const t = await trace("python:k-plus-one");
    expect(t.steps.map((s) => s.fingerprint.samples.length)).toEqual([40, 40, 70, 40]);
  });

  it("python:reference covers every sample once per epoch with weight 1/|W|, shuffled, mlp", async () => {
    const t = await trace("python:reference", { shuffle: 11, model: "mlp" });
    expect(t.steps).toHaveLength(8);
    const seen = new Map<string, number>();
    for (const step of t.steps) {
      const w = weights(step);
      for (const [key, value] of w) {
        expect(value).toBeCloseTo(1 / w.size, 7);
        expect(key.startsWith(`${step.epoch}:`)).toBe(true);
        seen.set(key, (seen.get(key) ?? 0) + 1);
      }
    }
    expect(seen.size).toBe(220);
    expect(new Set(seen.values())).toEqual(new Set([1]));
    expect(t.steps[0]?.body?.gradient).toHaveLength(21);
  });

  it("python:reference in fp16 records the loss scale of every step", async () => {
    const t = await trace("python:reference", { precision: "fp16", epochs: 1 });
    expect(t.steps.length).toBeGreaterThanOrEqual(4);
    expect(t.steps.every((s) => s.lossScale !== undefined && s.lossScale > 0)).toBe(true);
    const applied = t.steps.filter((s) => !s.skipped);
    expect(applied.reduce((n, s) => n + s.fingerprint.samples.length, 0)).toBe(110);
  });

  it("runs a user's function given as python:MODULE:FUNCTION", async () => {
    const name = "python:trainers.external.fixtures.user_loop:train";
    const trainer = createPythonTrainer(name);
    const scenario = parseScenario({ ...base, epochs: 1 });
    const t = await trainer.run(scenario, makeDataset(scenario));
    expect(t.steps).toHaveLength(1);
    expect(weights(t.steps[0]).get("0:57")).toBeCloseTo(1 / 110, 9);
    expect(trainer.info?.()).toMatchObject({ framework: "user-loop", frameworkVersion: "1.0" });
  });

  it("hands what a user's function prints to the output sink, labelled with the trainer", async () => {
    const lines: Array<[string, string]> = [];
    setTrainerOutput((trainer, line) => lines.push([trainer, line]));
    try {
      const name = "python:trainers.external.fixtures.user_loop:train";
      const scenario = parseScenario({ ...base, epochs: 1 });
      await createPythonTrainer(name).run(scenario, makeDataset(scenario));
      expect(lines).toContainEqual([name, "banner: user loop starting"]);
      expect(lines).toContainEqual([name, "raw write to file descriptor 1"]);
    } finally {
      setTrainerOutput(undefined);
    }
  });

  it("reports an error in a user's function with the user's own frames", async () => {
    const error = await trace("python:trainers.python.examples.my_failing_loop:train").catch(
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(TrainerError);
    expect((error as Error).message).toBe(
      "python:trainers.python.examples.my_failing_loop:train: worker: KeyError: 'labels' (my_failing_loop.py:19 in labels_of)",
    );
    const { traceback, output } = (error as TrainerError).detail;
    expect(traceback?.map((f) => [f.file.split("/").at(-1), f.line, f.function])).toEqual([
      ["my_failing_loop.py", 15, "train"],
      ["my_failing_loop.py", 19, "labels_of"],
    ]);
    expect(output).toBeUndefined();
  });

  it("keeps what a failing function printed with its error, and no worker stack", async () => {
    const name = "python:trainers.external.fixtures.user_loop:print_then_fail";
    const error = await trace(name).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TrainerError);
    expect((error as Error).message).toBe(
      `${name}: worker: RuntimeError: no GPU found (user_loop.py:25 in print_then_fail)`,
    );
    expect((error as TrainerError).detail.output).toEqual(["loading 110 samples"]);
  });

  it("keeps the last lines printed before an error, however much was printed (stderr read up to the answer)", async () => {
    const name = "python:trainers.external.fixtures.user_loop:print_much_then_fail";
    for (let attempt = 0; attempt < 3; attempt++) {
      const error = await trace(name).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(TrainerError);
      expect((error as TrainerError).detail.output?.at(-1)).toBe(
        "line 2999 of what the trainer printed before it failed",
      );
    }
  });

  it("reports an unknown trainer as a TrainerError and keeps serving", async () => {
    const error = await trace("python:no-such-loop").catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TrainerError);
    expect((error as Error).message).toMatch(
      /^python:no-such-loop: worker: TrainerUnavailable: trainer: expected one of/,
    );
    expect((await trace("python:docs-loop", { epochs: 1 })).steps).toHaveLength(3);
  });

  it("shares one long-lived worker between python trainers", async () => {
    expect(pythonWorker().starts).toBe(1);
    expect(pythonWorker().hello?.trainers).toEqual(
      expect.arrayContaining(["docs-loop", "reference"]),
    );
    expect(PYTHON_TRAINER_NAMES).toContain("python:hf-trainer-items");
  });

  it("names an interpreter that cannot be started", async () => {
    const scenario = parseScenario(base);
    const trainer = createPythonTrainer("python:docs-loop", { python: "/nonexistent/python3" });
    await expect(trainer.run(scenario, makeDataset(scenario))).rejects.toThrow(
      /^python:docs-loop: worker: \/nonexistent\/python3 is not a working Python with torch: cannot start \/nonexistent\/python3 \(spawn \/nonexistent\/python3 ENOENT\)/,
    );
  });

  it("names a program that ends before the worker's hello as no working Python", async () => {
    const scenario = parseScenario(base);
    const trainer = createPythonTrainer("python:docs-loop", { python: "/bin/true" });
    await expect(trainer.run(scenario, makeDataset(scenario))).rejects.toThrow(
      /^python:docs-loop: worker: \/bin\/true is not a working Python with torch: it exited with code 0 before the worker's hello$/,
    );
  });

  it("rejects names outside python:NAME", () => {
    expect(() => createPythonTrainer("docs-loop")).toThrow(/expected python:NAME/);
  });
});
