import { afterAll, describe, expect, it } from "vitest";
import { auditTrainer } from "../properties/audit.js";
import type { PropertyName } from "../properties/outcome.js";
import { runCheck } from "../properties/run-check.js";
import { checkErrorMessage } from "../reports/sentences/index.js";
import { parseScenario } from "../trainers/contract/scenario.js";
import {
  createPythonTrainer,
  disposePythonWorkers,
  pythonWorker,
} from "../trainers/external/index.js";
import { alive, childrenOf, waitFor, waitUntilGone } from "./support/processes.js";
import { judgePython, pythonTrainer, refuted } from "./support/python-checks.js";

afterAll(async () => {
  await disposePythonWorkers();
});

const tail110 = { datasetSize: 110, batchSize: 8, accumulation: 4, epochs: 2 };
const big1000 = { datasetSize: 1000, batchSize: 128, accumulation: 4 };

describe("data-parallel PyTorch trainers on torch.distributed (gloo, CPU)", () => {
  it("python:ddp-reference holds on 110/8/4 over 2 epochs at W = 2 and on 1000/128/4 at W = 4", async () => {
    const two = await judgePython("python:ddp-reference", { ...tail110, worldSize: 2 });
    expect(two.verdict, JSON.stringify(refuted(two))).toBe("pass");
    expect(two.properties.replicas).toMatchObject({ ok: true, ranks: 2 });
    expect(two.weights.rank[0]?.slice(0, 4)).toEqual([0, 1, 0, 1]);
    const four = await judgePython("python:ddp-reference", {
      ...big1000,
      worldSize: 4,
      model: "logistic",
    });
    expect(four.verdict, JSON.stringify(refuted(four))).toBe("pass");
  });

  it("python:ddp-reference: a generated audit over W = 1..4 finds nothing", async () => {
    const audit = await auditTrainer(pythonTrainer("python:ddp-reference"), {
      runs: 12,
      seed: 8,
      space: { maxDatasetSize: 48, maxEpochs: 2, maxWorldSize: 4 },
    });
    expect(audit.worldSizes).toEqual([1, 4]);
    expect(audit.search, JSON.stringify(audit.search)).toEqual({ kind: "passed", casesRun: 12 });
  });

  // Both shard with DistributedSampler, which pads: the search shrinks to 1 sample on 2 ranks,
  // fed twice. On 110/8/4 (no padding) the tail-step's tail window is still divided by K.
  it.each([
    ["python:ddp-docs-loop", "coverage"],
    ["python:ddp-tail-step", "coverage"],
  ] as const)("%s: the search at W = 2 refutes %s", async (name, property) => {
    const audit = await auditTrainer(pythonTrainer(name), {
      runs: 10,
      seed: 3,
      space: { maxDatasetSize: 40, maxEpochs: 2, minWorldSize: 2, maxWorldSize: 2 },
    });
    expect(audit.verdict, JSON.stringify(audit.search)).toBe("fail");
    if (audit.search.kind !== "refuted") throw new Error(`${name}: expected a counterexample`);
    const check = audit.search.counterexample.check;
    expect(check.scenario).toMatchObject({ datasetSize: 1, worldSize: 2 });
    expect(check.properties[property].ok).toBe(false);
    const [finding] = check.properties.coverage.findings;
    expect(finding).toMatchObject({ kind: "duplicated", likelyCause: "sampler-padding" });
  });

  it("python:ddp-tail-step divides the tail window by K on 110/8/4 at W = 2", async () => {
    const check = await judgePython("python:ddp-tail-step", { ...tail110, worldSize: 2 });
    expect(refuted(check)).toEqual(["weighting"]);
  });

  it("a single-process trainer refuses W = 2 in one line", async () => {
    const check = await runCheck(
      pythonTrainer("python:docs-loop"),
      parseScenario({ ...tail110, worldSize: 2 }),
    );
    expect(check.verdict).toBe("error");
    const message = check.verdict === "error" ? checkErrorMessage(check.error) : "";
    expect(message).toMatch(/world size 2: expected 1/);
    expect(message).not.toContain("\n");
    expect(await pythonTrainer("python:docs-loop").maxWorldSize?.()).toBe(1);
    expect(await pythonTrainer("python:ddp-reference").maxWorldSize?.()).toBeGreaterThanOrEqual(4);
  });
});

/**
 * What the frameworks do at W = 2, established by running them (torch 2.13.0, lightning 2.6.6,
 * accelerate 1.15.0, transformers 5.24.0; gloo on CPU): the properties each refutes on the
 * mission's scenarios. Lightning divides every micro-batch by K, the tail included; Accelerate
 * pads the last batch with samples from the start of the epoch (duplicates) and divides by K;
 * the HF Trainer pads too; with even_batches=False there is no padding, and the HF Trainer's
 * num_items_in_batch then weights every sample 1/|window|.
 */
const FRAMEWORKS_AT_TWO_RANKS: Array<[string, PropertyName[], PropertyName[]]> = [
  ["python:lightning", ["weighting"], ["weighting"]],
  ["python:accelerate", ["coverage", "weighting"], ["coverage", "weighting"]],
  ["python:accelerate-uneven", ["weighting"], ["weighting"]],
  ["python:hf-trainer", ["coverage"], ["coverage", "weighting"]],
  ["python:hf-trainer-items", ["coverage"], ["coverage", "weighting"]],
  ["python:hf-trainer-items-uneven", [], []],
];

describe("the frameworks at W = 2", () => {
  it.each(FRAMEWORKS_AT_TWO_RANKS)(
    "%s refutes %j on 110/8/4 over 2 epochs and %j on 1000/128/4",
    async (name, onTail, onBig) => {
      const tail = await judgePython(name, { ...tail110, worldSize: 2 });
      expect(refuted(tail)).toEqual(onTail);
      const big = await judgePython(name, { ...big1000, worldSize: 2 });
      expect(refuted(big)).toEqual(onBig);
      expect(tail.properties.replicas.ranks).toBe(2);
    },
  );

  it.each(FRAMEWORKS_AT_TWO_RANKS.map(([name]) => name))(
    "%s: the search at W = 2 finds a counterexample or a case the framework cannot finish",
    async (name) => {
      const audit = await auditTrainer(pythonTrainer(name), {
        runs: 6,
        seed: 3,
        space: { maxDatasetSize: 24, maxEpochs: 2, minWorldSize: 2, maxWorldSize: 2 },
      });
      expect(audit.search.kind, JSON.stringify(audit.search)).not.toBe("passed");
    },
  );
});

describe("a rank that fails or hangs", () => {
  const fixture = (name: string) => `python:trainers.external.fixtures.faulty_ranks:${name}`;
  const small = parseScenario({ datasetSize: 8, batchSize: 2, accumulation: 2, worldSize: 2 });

  /** Runs a faulty fixture, noting the rank processes the worker started; returns the error and them. */
  async function runFaulty(name: string, timeoutMs: number) {
    const faulty = createPythonTrainer(fixture(name), { timeoutMs });
    const client = pythonWorker();
    await faulty.maxWorldSize?.();
    const worker = client.pid;
    if (worker === undefined) throw new Error("expected a running worker");
    const running = runCheck(faulty, small);
    const ranks = await waitFor(() => childrenOf(worker), 20_000);
    const check = await running;
    return { check, ranks };
  }

  it("a rank that raises ends the case with one line naming the rank; no rank is left", async () => {
    const { check, ranks } = await runFaulty("crash", 60_000);
    expect(ranks.length).toBeGreaterThan(0);
    const message = check.verdict === "error" ? checkErrorMessage(check.error) : "";
    expect(message).toMatch(/rank 1 of 2 failed: ValueError: simulated failure on rank 1/);
    await waitUntilGone(ranks, 3_000);
    expect(ranks.filter(alive)).toEqual([]);
  });

  it("a rank that hangs in a collective is named with what it waits for; no rank is left", async () => {
    const { check, ranks } = await runFaulty("hang", 60_000);
    const message = check.verdict === "error" ? checkErrorMessage(check.error) : "";
    expect(message).toMatch(/rank 1 of 2 hung/);
    expect(message).toMatch(/all_reduce/);
    await waitUntilGone(ranks, 3_000);
    expect(ranks.filter(alive)).toEqual([]);
  });
});
