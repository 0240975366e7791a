import { describe, expect, it } from "vitest";
import { judge } from "../test/support/outcomes.js";
import { simulateDataParallelTrace } from "../test/support/simulated-trace.js";
import { parseTrace } from "../trainers/contract/trace.js";

describe("properties across ranks", () => {
  it("pass a correct data-parallel loop: uneven shards, windows over every rank, replicas equal", () => {
    for (const scenario of [
      { datasetSize: 11, batchSize: 2, accumulation: 2, epochs: 2, worldSize: 2, shuffle: 3 },
      {
        datasetSize: 110,
        batchSize: 8,
        accumulation: 4,
        epochs: 2,
        worldSize: 4,
        model: "logistic" as const,
      },
    ]) {
      const check = judge(simulateDataParallelTrace(scenario, "ddp-reference"));
      expect(check.verdict, JSON.stringify(check.properties)).toBe("pass");
      expect(check.properties.replicas).toMatchObject({ ok: true, ranks: scenario.worldSize });
    }
  });

  it("expects 1/|W| over the window's samples on all ranks", () => {
    // 11 samples on 2 ranks: shards of 6 and 5; K = 2 micro-batches of 2 per rank: windows of
    // 8 samples (4 per rank) and 3 (rank 0's last 2, rank 1's last 1).
    const check = judge(
      simulateDataParallelTrace(
        { datasetSize: 11, batchSize: 2, accumulation: 2, worldSize: 2 },
        "ddp-reference",
      ),
    );
    expect(check.steps.map((s) => s.window?.size)).toEqual([8, 3]);
    expect(check.weights.expected[0]?.slice(0, 4)).toEqual([1 / 8, 1 / 8, 1 / 8, 1 / 8]);
    expect(check.weights.rank[0]?.slice(0, 4)).toEqual([0, 1, 0, 1]);
  });

  it("finds the padded shard's repeated sample as duplicated, names padding, and fails its weight", () => {
    // DistributedSampler pads 11 samples to 12: sample 0 runs on rank 0 and again on rank 1.
    const check = judge(
      simulateDataParallelTrace(
        { datasetSize: 11, batchSize: 2, accumulation: 3, worldSize: 2 },
        "ddp-tail-step",
      ),
    );
    const duplicated = check.properties.coverage.findings.filter((f) => f.kind === "duplicated");
    expect(duplicated).toEqual([
      {
        kind: "duplicated",
        epoch: 0,
        samples: { count: 1, ranges: [[0, 0]] },
        steps: [0],
        seenOnRanks: [0, 1],
        likelyCause: "sampler-padding",
      },
    ]);
    expect(check.properties.coverage.ok).toBe(false);
    expect(check.properties.weighting.ok).toBe(false);
  });

  it("finds ddp-docs-loop's lost tail per global window", () => {
    const check = judge(
      simulateDataParallelTrace(
        { datasetSize: 20, batchSize: 2, accumulation: 2, epochs: 2, worldSize: 2 },
        "ddp-docs-loop",
      ),
    );
    // Each rank has 5 micro-batches: windows of positions 0-1, 2-3 and the tail 4 (4 samples).
    // Findings are grouped by the rank whose loader fed the samples.
    const kinds = check.properties.coverage.findings.map((f) => [
      f.kind,
      f.epoch,
      f.samples.count,
      f.kind === "leaked" || f.kind === "lost" ? f.ranks : [],
    ]);
    expect(kinds).toEqual([
      ["leaked", 0, 2, [0]],
      ["leaked", 0, 2, [1]],
      ["lost", 1, 2, [0]],
      ["lost", 1, 2, [1]],
    ]);
    expect(check.properties.windowing.ok).toBe(false);
    expect(check.properties.replicas.ok).toBe(true);
  });

  it("names the rank and the step when a replica applied another gradient or took other steps", () => {
    const trace = simulateDataParallelTrace(
      { datasetSize: 24, batchSize: 2, accumulation: 2, worldSize: 3 },
      "ddp-reference",
    );
    const replica = trace.replicas?.[1];
    const weights = replica?.steps[1]?.fingerprint.weights;
    if (!weights) throw new Error("expected rank 2's second step");
    weights[0] = (weights[0] ?? 0) * 2;
    replica.steps.pop();
    const check = judge(trace);
    expect(check.verdict).toBe("fail");
    expect(check.properties.replicas.findings).toEqual([
      { kind: "step-count", rank: 2, steps: 1, expected: 2 },
    ]);
    const differing = simulateDataParallelTrace(
      { datasetSize: 24, batchSize: 2, accumulation: 2, worldSize: 3 },
      "ddp-reference",
    );
    const step = differing.replicas?.[0]?.steps[1];
    if (!step) throw new Error("expected rank 1's second step");
    step.fingerprint.weights[0] = (step.fingerprint.weights[0] ?? 0) * 1.5;
    const [finding, ...others] = judge(differing).properties.replicas.findings;
    expect(others).toEqual([]);
    expect(finding).toMatchObject({ kind: "step-differs", rank: 1, step: 1, part: "fingerprint" });
    expect(finding?.kind === "step-differs" && finding.relError).toBeCloseTo(0.5, 12);
  });

  it("reads version 1 traces and refuses ranks it cannot place", () => {
    const two = simulateDataParallelTrace(
      { datasetSize: 8, batchSize: 2, accumulation: 2, worldSize: 2 },
      "ddp-reference",
    );
    expect(parseTrace(two).version).toBe(2);
    expect(() => parseTrace({ ...two, microBatches: undefined })).toThrow(
      "invalid trace: microBatches: expected the forward passes of all 2 ranks, saw none",
    );
    expect(() => parseTrace({ ...two, replicas: [] })).toThrow(
      "invalid trace: replicas: expected ranks [1], saw []",
    );
    expect(() => parseTrace({ ...two, version: 1 })).toThrow(
      "invalid trace: version: expected 2 for a trace with ranks, saw 1",
    );
  });
});
