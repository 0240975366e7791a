import { describe, expect, it } from "vitest";
import { simulatedTrainer, simulateTrace } from "../test/support/simulated-trace.js";
import type { Trainer } from "../trainers/contract/trainer.js";
import { missionScenarios } from "./arbitraries.js";
import { auditTrainer } from "./audit.js";

describe("auditTrainer", () => {
  it("shrinks per-micro-batch weighting to the smallest failing scenario", async () => {
    const audit = await auditTrainer(simulatedTrainer("two-loop-like", "two-loop"), {
      runs: 60,
      seed: 7,
      space: { shuffle: false, models: ["fingerprint"] },
    });
    expect(audit.verdict).toBe("fail");
    if (audit.search.kind !== "refuted") throw new Error("expected a counterexample");
    const check = audit.search.counterexample.check;
    expect(check.scenario).toMatchObject({
      datasetSize: 3,
      batchSize: 2,
      accumulation: 2,
      epochs: 1,
      dropLast: false,
    });
    expect(check.properties.weighting.maxRelError).toBeCloseTo(0.5, 12);
    const [finding] = check.properties.weighting.findings;
    expect(finding).toMatchObject({ kind: "step-weights", step: 0, relError: 0.5 });
  });

  it("finds nothing against sample-count weighting", async () => {
    const seen: number[] = [];
    const audit = await auditTrainer(simulatedTrainer("exact", "reference"), {
      runs: 40,
      seed: 1,
      onProgress: (p) => {
        if (p.state === "finished") seen.push(p.cases);
      },
    });
    expect(audit).toMatchObject({ verdict: "pass", search: { kind: "passed", casesRun: 40 } });
    expect(seen.length).toBe(40);
  });

  it("stops drawing cases once interrupted, even with a million runs to go", async () => {
    const stop = new AbortController();
    let started = 0;
    const audit = await auditTrainer(simulatedTrainer("exact", "reference"), {
      runs: 1_000_000,
      seed: 1,
      signal: stop.signal,
      onProgress: (p) => {
        if (p.state === "started" && ++started === 3) stop.abort();
      },
    });
    // Before, fast-check drew every remaining run (about a minute) and counted them all as run.
    expect(audit.search).toEqual({ kind: "passed", casesRun: 3 });
    expect(started).toBe(3);
  });

  it("keeps the counterexample found so far when interrupted while shrinking", async () => {
    const stop = new AbortController();
    const audit = await auditTrainer(simulatedTrainer("two-loop-like", "two-loop"), {
      runs: 1_000_000,
      seed: 7,
      space: { shuffle: false, models: ["fingerprint"] },
      signal: stop.signal,
      onProgress: (p) => {
        if (p.phase === "shrink" && p.state === "finished") stop.abort();
      },
    });
    if (audit.search.kind !== "refuted") throw new Error("expected a counterexample");
    expect(audit.search.counterexample.check.verdict).toBe("fail");
  });

  it("reports a throwing trainer as a search that could not check it, with the error", async () => {
    const broken: Trainer = {
      name: "broken",
      description: "throws",
      run: async () => {
        throw new Error("worker exited with code 1");
      },
    };
    const audit = await auditTrainer(broken, { runs: 5, seed: 1 });
    expect(audit.verdict).toBe("error");
    expect(audit.search).toMatchObject({
      kind: "error",
      casesRun: 1,
      check: { verdict: "error", error: { kind: "trainer", message: "worker exited with code 1" } },
    });
  });

  it("checks the regression scenarios beside the search; one failing regression fails the trainer", async () => {
    const regressions = missionScenarios();
    const exact = await auditTrainer(simulatedTrainer("exact", "reference"), {
      runs: 5,
      seed: 2,
      regressions,
    });
    expect(exact.regressions.map((r) => r.verdict)).toEqual(["pass", "pass"]);
    // Per-micro-batch weighting is exact when every micro-batch is full: 110/8/4 has a short one.
    const fullBatchesOnly = await auditTrainer(simulatedTrainer("two-loop-like", "two-loop"), {
      runs: 5,
      seed: 2,
      space: { maxDatasetSize: 1 },
      regressions,
    });
    expect(fullBatchesOnly.search.kind).toBe("passed");
    expect(fullBatchesOnly.regressions.map((r) => r.verdict)).toEqual(["fail", "fail"]);
    expect(fullBatchesOnly.verdict).toBe("fail");
    const big = fullBatchesOnly.regressions[1];
    if (big?.verdict !== "fail") throw new Error("expected 1000/128/4 to fail");
    expect(big.properties.weighting.maxRelError).toBeCloseTo(488 / 416 - 1, 10);
    expect(fullBatchesOnly.trainerInfo).toEqual({ name: "two-loop-like" });
  });

  it("does not shrink a refuted property into a case the trainer cannot run", async () => {
    const flaky: Trainer = {
      name: "flaky-two-loop",
      description: "per-micro-batch weighting that cannot run fewer than 5 samples",
      run: async (scenario) => {
        if (scenario.datasetSize < 5) throw new Error("needs 5 samples");
        return simulateTrace(scenario, "two-loop");
      },
    };
    const audit = await auditTrainer(flaky, {
      runs: 60,
      seed: 7,
      space: { shuffle: false, models: ["fingerprint"] },
    });
    expect(audit.verdict).toBe("fail");
    if (audit.search.kind !== "refuted") throw new Error("expected a counterexample");
    expect(audit.search.counterexample.check.verdict).toBe("fail");
    expect(audit.search.counterexample.check.scenario.datasetSize).toBeGreaterThanOrEqual(5);
  });

  it("stops at the first case a trainer cannot run instead of shrinking it", async () => {
    let runs = 0;
    const broken: Trainer = {
      name: "broken",
      description: "throws",
      run: async () => {
        runs++;
        throw new Error("worker exited with code 1");
      },
    };
    await auditTrainer(broken, { runs: 50, seed: 3 });
    expect(runs).toBe(1);
  });
});
