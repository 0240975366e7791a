/**
 * Users' PyTorch trainers that are right but unusual (trainers/python/tests/trust_trainers.py),
 * checked end to end through the worker: none may get a false alarm. The build before issue 20
 * failed all three (a step tagged with the next epoch, samples without loss tokens left out).
 */
import { delimiter, join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { adviceFor, mistakesOf } from "../reports/advice.js";
import { formatCheck } from "../reports/text.js";
import { disposePythonWorkers } from "../trainers/external/index.js";
import { judgePython } from "./support/python-checks.js";

const trainers = join(import.meta.dirname, "..", "trainers", "python", "tests");
process.env.PYTHONPATH = [trainers, process.env.PYTHONPATH].filter(Boolean).join(delimiter);

afterAll(async () => {
  await disposePythonWorkers();
});

const TOKENS = {
  datasetSize: 40,
  batchSize: 4,
  accumulation: 2,
  epochs: 2,
  weighting: "tokens",
  lengths: [3, 0, 2, 1, 0],
  model: "causal-lm",
  shuffle: 5,
} as const;

describe("no false alarm on a correct loop", () => {
  it.each([
    ["prefetching", { datasetSize: 110, batchSize: 8, accumulation: 4, epochs: 2, shuffle: 3 }],
    ["prefetching", { datasetSize: 64, batchSize: 8, accumulation: 4, epochs: 3 }],
    ["drops_empty_in_batch", TOKENS],
    ["drops_empty_before", TOKENS],
  ] as const)("trust_trainers:%s passes %o", async (name, scenario) => {
    const check = await judgePython(`python:trust_trainers:${name}`, {
      ...scenario,
      lengths: "lengths" in scenario ? [...scenario.lengths] : undefined,
      model: "model" in scenario ? scenario.model : "logistic",
    });
    expect(check.verdict, formatCheck(check)).toBe("pass");
  });

  it("holds a loop that stops early to the scenario's windows, and names the budget", async () => {
    const check = await judgePython("python:trust_trainers:stops_after_five_steps", {
      datasetSize: 110,
      batchSize: 8,
      accumulation: 4,
      epochs: 2,
    });
    expect(check.verdict).toBe("fail");
    const { windowing } = check.properties;
    expect([windowing.expectedSteps, windowing.appliedSteps]).toEqual([8, 5]);
    expect(mistakesOf(check)).toEqual(["step-budget"]);
    expect(adviceFor(check)[0]?.evidence[0]?.shows).toMatch(
      /^the run ended right after step 5, after micro-batch 4 of epoch 2; the scenario has 8 steps/,
    );
  });
});
