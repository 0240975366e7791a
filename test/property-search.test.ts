import { describe, expect, it } from "vitest";
import { auditTrainer } from "../properties/audit.js";
import type { Trainer } from "../trainers/contract/trainer.js";
import { createTfjsTrainers } from "../trainers/tfjs/index.js";

const trainers = new Map<string, Trainer>(createTfjsTrainers().map((t) => [t.name, t]));
const trainer = (name: string): Trainer => {
  const t = trainers.get(name);
  if (!t) throw new Error(`no built-in trainer ${name}`);
  return t;
};

describe("property search over the built-in trainers", () => {
  it.each([
    // [trainer, the minimal scenario the search shrinks to, the property that fails there]
    ["docs-loop", { datasetSize: 1, batchSize: 1, accumulation: 2 }, "coverage"],
    ["tail-step", { datasetSize: 1, batchSize: 1, accumulation: 2 }, "weighting"],
    ["two-loop", { datasetSize: 3, batchSize: 2, accumulation: 2 }, "weighting"],
    ["k-plus-one", { datasetSize: 1, batchSize: 1, accumulation: 1 }, "coverage"],
  ] as const)("%s: finds a failure and shrinks it to %j", async (name, minimal, property) => {
    const audit = await auditTrainer(trainer(name), {
      runs: 100,
      seed: 42,
      space: { models: ["fingerprint"] },
    });
    expect(audit.verdict).toBe("fail");
    if (audit.search.kind !== "refuted") throw new Error(`${name}: expected a counterexample`);
    const check = audit.search.counterexample.check;
    expect(check.scenario).toMatchObject({
      ...minimal,
      epochs: 1,
      dropLast: false,
      shuffle: false,
    });
    expect(check.properties[property].ok).toBe(false);
  });

  it("reference: no counterexample across bodies, precisions, shuffle and drop_last", async () => {
    const audit = await auditTrainer(trainer("reference"), {
      runs: 150,
      seed: 42,
      space: { models: ["fingerprint", "logistic", "mlp"], precisions: ["fp32", "fp16", "bf16"] },
    });
    expect(audit.search, JSON.stringify(audit.search)).toEqual({ kind: "passed", casesRun: 150 });
    expect(audit.verdict).toBe("pass");
  });

  it("shrinks to the same minimal two-loop counterexample from any seed", async () => {
    for (const seed of [1, 2, 3, 99, 2026]) {
      const { search } = await auditTrainer(trainer("two-loop"), {
        runs: 100,
        seed,
        space: { models: ["fingerprint"] },
      });
      const scenario = search.kind === "refuted" ? search.counterexample.check.scenario : null;
      expect(scenario, `seed ${seed}`).toMatchObject({
        datasetSize: 3,
        batchSize: 2,
        accumulation: 2,
      });
    }
  });
});
