import { describe, expect, it } from "vitest";
import {
  perMicroBatchWeighting,
  sampleCountWeighting,
  syntheticTrace,
  type WindowWeighting,
} from "../test/support/synthetic-trace.js";
import type { Trainer } from "../trainers/contract/trainer.js";
import { missionScenarios } from "./arbitraries.js";
import { auditTrainer } from "./audit.js";

function syntheticTrainer(name: string, weighting: WindowWeighting): Trainer {
  return {
    name,
    description: "synthetic trainer for tests",
    run: async (scenario) => syntheticTrace({ ...scenario, shuffle: false }, weighting),
  };
}

describe("auditTrainer", () => {
  it("shrinks per-micro-batch weighting to the smallest failing scenario", async () => {
    const { audit, diagnosis } = await auditTrainer(
      syntheticTrainer("two-loop-like", perMicroBatchWeighting),
      {
        runs: 60,
        seed: 7,
        space: { shuffle: false, models: ["fingerprint"] },
      },
    );
    expect(audit.verdict).toBe("fail");
    const s = audit.counterexample?.scenario;
    expect(s).toMatchObject({
      datasetSize: 3,
      batchSize: 2,
      accumulation: 2,
      epochs: 1,
      dropLast: false,
    });
    expect(audit.counterexample?.replay).toBe(
      "accumaudit check --trainer two-loop-like --dataset-size 3 --batch-size 2 --accumulation 2 --epochs 1",
    );
    expect(diagnosis?.result.scenario).toEqual(s);
    expect(diagnosis?.result.properties?.weighting.maxRelError).toBeCloseTo(0.5, 12);
  });

  it("finds nothing against sample-count weighting", async () => {
    const seen: number[] = [];
    const { audit } = await auditTrainer(syntheticTrainer("exact", sampleCountWeighting), {
      runs: 40,
      seed: 1,
      space: { shuffle: false },
      onProgress: (p) => seen.push(p.cases),
    });
    expect(audit).toMatchObject({ verdict: "pass", counterexample: null, casesRun: 40 });
    expect(seen.length).toBe(40);
  });

  it("reports a throwing trainer as an error with its message", async () => {
    const broken: Trainer = {
      name: "broken",
      description: "throws",
      run: async () => {
        throw new Error("worker exited with code 1");
      },
    };
    const { audit } = await auditTrainer(broken, { runs: 5, seed: 1 });
    expect(audit.verdict).toBe("error");
    expect(audit.counterexample?.result.error).toBe("worker exited with code 1");
  });

  it("checks the regression scenarios beside the search; one failing regression fails the trainer", async () => {
    const regressions = missionScenarios();
    const exact = await auditTrainer(syntheticTrainer("exact", sampleCountWeighting), {
      runs: 5,
      seed: 2,
      space: { shuffle: false },
      regressions,
    });
    expect(exact.audit.regressions.map((r) => r.verdict)).toEqual(["pass", "pass"]);
    expect(exact.regressionDiagnoses).toHaveLength(2);
    // Per-micro-batch weighting is exact when every micro-batch is full: 110/8/4 has a short one.
    const fullBatchesOnly = await auditTrainer(
      syntheticTrainer("two-loop-like", perMicroBatchWeighting),
      {
        runs: 5,
        seed: 2,
        space: { maxDatasetSize: 1, shuffle: false },
        regressions,
      },
    );
    expect(fullBatchesOnly.audit.counterexample).toBeNull();
    expect(fullBatchesOnly.audit.regressions.map((r) => r.verdict)).toEqual(["fail", "fail"]);
    expect(fullBatchesOnly.audit.verdict).toBe("fail");
    expect(fullBatchesOnly.audit.regressions[1]?.properties?.weighting.maxRelError).toBeCloseTo(
      488 / 416 - 1,
      10,
    );
  });

  it("does not shrink a refuted property into a case the trainer cannot run", async () => {
    const flaky: Trainer = {
      name: "flaky-two-loop",
      description: "per-micro-batch weighting that cannot run fewer than 5 samples",
      run: async (scenario) => {
        if (scenario.datasetSize < 5) throw new Error("needs 5 samples");
        return syntheticTrace(scenario, perMicroBatchWeighting);
      },
    };
    const { audit } = await auditTrainer(flaky, {
      runs: 60,
      seed: 7,
      space: { shuffle: false, models: ["fingerprint"] },
    });
    expect(audit.verdict).toBe("fail");
    expect(audit.counterexample?.result.verdict).toBe("fail");
    expect(audit.counterexample?.scenario.datasetSize).toBeGreaterThanOrEqual(5);
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
