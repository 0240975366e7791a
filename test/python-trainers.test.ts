import { afterAll, describe, expect, it } from "vitest";
import { auditTrainer } from "../properties/audit.js";
import type { PropertyName } from "../properties/outcome.js";
import type { ScenarioInput } from "../trainers/contract/scenario.js";
import { createPythonTrainer, disposePythonWorkers } from "../trainers/external/index.js";
import { judgePython, pythonTrainer, refuted } from "./support/python-checks.js";

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

const tokens = (s: ScenarioInput): ScenarioInput => ({ weighting: "tokens", ...s });

describe("token weighting: the PyTorch trainers on causal-LM token sequences", () => {
  it.each(["python:token-reference", "python:hf-trainer-items"])(
    "%s weights every loss token of a window the same",
    async (name) => {
      const scenarios: ScenarioInput[] = [
        { datasetSize: 2, batchSize: 1, accumulation: 2, lengths: [1, 2] },
        { datasetSize: 23, batchSize: 3, accumulation: 2, epochs: 2, lengths: [3, 1, 0, 5, 2] },
        { datasetSize: 30, batchSize: 4, accumulation: 3, shuffle: 5, model: "causal-lm" },
        { datasetSize: 17, batchSize: 5, accumulation: 2, lengths: "0-6", model: "causal-lm" },
      ];
      for (const scenario of scenarios) {
        const check = await judgePython(name, tokens(scenario));
        expect(check.verdict, `${JSON.stringify(scenario)}: ${refuted(check)}`).toBe("pass");
      }
      const audit = await auditTrainer(pythonTrainer(name), {
        runs: 15,
        seed: 3,
        space: {
          weightings: ["tokens"],
          models: ["fingerprint", "causal-lm"],
          maxDatasetSize: 40,
          maxWorldSize: 1,
        },
      });
      expect(audit.search, JSON.stringify(audit.search)).toEqual({ kind: "passed", casesRun: 15 });
    },
  );

  it.each(["python:hf-trainer", "python:docs-loop"])(
    "%s weights each micro-batch's token mean alike: loss tokens of unequal micro-batches are misweighted",
    async (name) => {
      const check = await judgePython(
        name,
        tokens({ datasetSize: 2, batchSize: 1, accumulation: 2, lengths: [1, 2] }),
      );
      expect(check.verdict).toBe("fail");
      expect(refuted(check)).toEqual(["weighting"]);
      // 1/2 each, where the full batch gives the one-token sample 1/3 and the two-token one 2/3.
      const worst = check.properties.weighting.worst;
      expect(worst).toMatchObject({ sample: 0, units: 1, windowUnits: 3 });
      expect(worst?.weight).toBeCloseTo(1 / 2, 6);
      expect(worst?.expectedWeight).toBeCloseTo(1 / 3, 12);
    },
  );
});
