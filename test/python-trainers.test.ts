import { afterAll, describe, expect, it } from "vitest";
import { auditTrainer } from "../properties/audit.js";
import type { PropertyName } from "../properties/outcome.js";
import { createPythonTrainer, disposePythonWorkers } from "../trainers/external/index.js";

afterAll(async () => {
  await disposePythonWorkers();
});

/**
 * Verdicts established by running the real frameworks (torch 2.13.0, lightning 2.6.6,
 * accelerate 1.15.0, transformers 5.24.0, pytorch-ignite 0.5.5, Keras 3.15.1, fastai 2.8.12,
 * mmengine 0.10.7, poutyne 1.19.0 on CPU): which property a property search breaks.
 */
const EXPECTED: Array<[string, "pass" | PropertyName]> = [
  ["python:docs-loop", "coverage"],
  ["python:tail-step", "weighting"],
  ["python:two-loop", "weighting"],
  ["python:k-plus-one", "coverage"],
  ["python:reference", "pass"],
  // Both step the tail window in its epoch but still divide its loss by K.
  ["python:lightning", "weighting"],
  ["python:accelerate", "weighting"],
  // Mean loss: divides by the micro-batches in the window, as the two-loop does.
  ["python:hf-trainer", "weighting"],
  // num_items_in_batch: sample-count weighting.
  ["python:hf-trainer-items", "pass"],
  // A mean-loss model whose forward takes **kwargs is treated as taking num_items_in_batch.
  ["python:hf-trainer-kwargs", "weighting"],
  // Count micro-batches over the whole run: an epoch's tail is stepped in the next epoch, and
  // a run shorter than K micro-batches never steps.
  ["python:ignite", "coverage"],
  ["python:keras", "coverage"],
  ["python:mmengine", "coverage"],
  // GradientAccumulation counts samples over the whole fit and never flushes a tail.
  ["python:fastai", "coverage"],
  ["python:fastai-native", "coverage"],
  // batches_per_step: windows per epoch, tail stepped, gradient divided by the window's samples.
  ["python:poutyne", "pass"],
];

describe("property search against the PyTorch trainers", () => {
  it.each(EXPECTED)("%s: %s", async (name, expected) => {
    const audit = await auditTrainer(createPythonTrainer(name, { timeoutMs: 120_000 }), {
      runs: 40,
      seed: 11,
      space: { models: ["fingerprint", "logistic"], maxDatasetSize: 120, maxWorldSize: 1 },
    });
    if (expected === "pass") {
      expect(audit.search, JSON.stringify(audit.search)).toEqual({ kind: "passed", casesRun: 40 });
      expect(audit.verdict).toBe("pass");
      return;
    }
    expect(audit.verdict, JSON.stringify(audit.search)).toBe("fail");
    if (audit.search.kind !== "refuted") throw new Error(`${name}: expected a counterexample`);
    expect(audit.search.counterexample.check.properties[expected].ok).toBe(false);
    expect(audit.trainerInfo?.frameworkVersion).toBeTruthy();
  });

  it("python:reference holds in fp16 and bf16 with every body (torch autocast and GradScaler on CPU)", async () => {
    const audit = await auditTrainer(
      createPythonTrainer("python:reference", { timeoutMs: 120_000 }),
      {
        runs: 40,
        seed: 5,
        space: {
          models: ["fingerprint", "logistic", "mlp"],
          precisions: ["fp16", "bf16"],
          maxDatasetSize: 120,
          maxWorldSize: 1,
        },
      },
    );
    expect(audit.search, JSON.stringify(audit.search)).toEqual({ kind: "passed", casesRun: 40 });
    expect(audit.verdict).toBe("pass");
  });
});
