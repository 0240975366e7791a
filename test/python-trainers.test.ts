import { afterAll, describe, expect, it } from "vitest";
import { auditTrainer } from "../properties/audit.js";
import type { PropertyResults } from "../properties/result.js";
import { createPythonTrainer, disposePythonWorkers } from "../trainers/external/index.js";

afterAll(async () => {
  await disposePythonWorkers();
});

type Property = keyof PropertyResults;

/**
 * Verdicts established by running the real frameworks (torch 2.13.0, lightning 2.6.6,
 * accelerate 1.15.0, transformers 5.24.0 on CPU): which property a property search breaks.
 */
const EXPECTED: Array<[string, "pass" | Property]> = [
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
];

describe("property search against the PyTorch trainers", () => {
  it.each(EXPECTED)("%s: %s", async (name, expected) => {
    const { audit, diagnosis } = await auditTrainer(
      createPythonTrainer(name, { timeoutMs: 120_000 }),
      {
        runs: 40,
        seed: 11,
        space: { models: ["fingerprint", "logistic"], maxDatasetSize: 120 },
      },
    );
    if (expected === "pass") {
      expect(
        audit.counterexample?.result.properties ?? audit.counterexample?.result.error ?? null,
      ).toBeNull();
      expect(audit).toMatchObject({ verdict: "pass", casesRun: 40 });
      return;
    }
    expect(audit.verdict, audit.counterexample?.result.error).toBe("fail");
    expect(diagnosis?.result.properties?.[expected].ok).toBe(false);
    expect(audit.trainerInfo?.frameworkVersion).toBeTruthy();
  });

  it("python:reference holds in fp16 and bf16 with every body (torch autocast and GradScaler on CPU)", async () => {
    const { audit } = await auditTrainer(
      createPythonTrainer("python:reference", { timeoutMs: 120_000 }),
      {
        runs: 40,
        seed: 5,
        space: {
          models: ["fingerprint", "logistic", "mlp"],
          precisions: ["fp16", "bf16"],
          maxDatasetSize: 120,
        },
      },
    );
    expect(
      audit.counterexample?.result.properties ?? audit.counterexample?.result.error ?? null,
    ).toBeNull();
    expect(audit.verdict).toBe("pass");
  });
});
