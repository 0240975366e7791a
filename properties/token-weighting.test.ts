import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { sampleBodyGradient } from "../reference/body-gradient.js";
import { expectRun } from "../reference/expectation.js";
import { simulateDataParallelTrace, simulateTrace } from "../test/support/simulated-trace.js";
import {
  EMBEDDING,
  IGNORE_INDEX,
  initialBodyParameters,
  lossTokenCounts,
  lossUnits,
  makeDataset,
  VOCABULARY,
} from "../trainers/contract/probe.js";
import { parseScenario, type ScenarioInput } from "../trainers/contract/scenario.js";
import type { Trace } from "../trainers/contract/trace.js";
import { scenarioArbitrary } from "./arbitraries.js";
import { diagnoseTrace } from "./diagnose.js";

const diagnose = (trace: Trace) => diagnoseTrace(trace, makeDataset(trace.scenario));
const tokens = (s: ScenarioInput): ScenarioInput => ({ weighting: "tokens", ...s });

describe("token weighting: the oracle", () => {
  it("expects n_i / (loss tokens of the window), 0 for a sample without loss tokens", () => {
    const s = parseScenario(
      tokens({ datasetSize: 4, batchSize: 2, accumulation: 2, lengths: [1, 2, 0, 5] }),
    );
    const expectation = expectRun(s, simulateTrace(s));
    expect(expectation.units).toEqual([1, 2, 0, 5]);
    expect(expectation.plans[0]?.windows.map((w) => w.units)).toEqual([8]);
    expect(expectation.expectedWeight[0]).toEqual([1 / 8, 2 / 8, 0, 5 / 8]);
    expect(expectation.microBatchUnits[0]).toEqual([3, 3, 5, 5]);
  });

  it("weights every sample 1 under sample weighting, whatever lengths would say", () => {
    const s = parseScenario({ datasetSize: 5, batchSize: 2, accumulation: 2 });
    expect(lossUnits(s)).toEqual([1, 1, 1, 1, 1]);
  });

  it("repeats a list of counts over the samples and draws a range from the data seed", () => {
    expect(lossTokenCounts({ datasetSize: 5, dataSeed: 0, lengths: [3, 1] })).toEqual([
      3, 1, 3, 1, 3,
    ]);
    const drawn = lossTokenCounts({ datasetSize: 400, dataSeed: 7, lengths: "2-4" });
    expect(new Set(drawn)).toEqual(new Set([2, 3, 4]));
    expect(lossTokenCounts({ datasetSize: 400, dataSeed: 7, lengths: "2-4" })).toEqual(drawn);
    expect(lossTokenCounts({ datasetSize: 400, dataSeed: 8, lengths: "2-4" })).not.toEqual(drawn);
  });

  it("builds causal-LM sequences whose labels other than -100 are the loss tokens", () => {
    const s = parseScenario(tokens({ datasetSize: 50, batchSize: 4, accumulation: 2 }));
    const { tokens: sequences } = makeDataset(s);
    const counts = lossTokenCounts(s);
    sequences?.labels.forEach((labels, i) => {
      expect(labels[0]).toBe(IGNORE_INDEX);
      expect(labels.filter((y) => y !== IGNORE_INDEX)).toHaveLength(counts[i] ?? -1);
      expect(labels.slice(1).filter((y) => y !== IGNORE_INDEX)).toHaveLength(counts[i] ?? -1);
      const ids = sequences.inputIds[i] ?? [];
      labels.forEach((y, t) => {
        if (y !== IGNORE_INDEX) expect(y).toBe(ids[t]);
      });
      expect(ids.every((id) => id >= 0 && id < VOCABULARY)).toBe(true);
    });
  });

  it("gives the causal-lm body the gradient of the mean token cross-entropy (central differences)", () => {
    const s = parseScenario(
      tokens({ datasetSize: 3, batchSize: 1, accumulation: 1, model: "causal-lm", lengths: [4] }),
    );
    const dataset = makeDataset(s);
    const params = initialBodyParameters(s);
    expect(params).toHaveLength(2 * VOCABULARY * EMBEDDING + VOCABULARY);
    const loss = (p: number[], sample: number) => {
      const ids = dataset.tokens?.inputIds[sample] ?? [];
      const labels = dataset.tokens?.labels[sample] ?? [];
      let total = 0;
      let n = 0;
      for (let t = 1; t < labels.length; t++) {
        const y = labels[t] ?? IGNORE_INDEX;
        if (y === IGNORE_INDEX) continue;
        const x = ids[t - 1] ?? 0;
        const logits = Array.from({ length: VOCABULARY }, (_, v) => {
          let z = p[2 * VOCABULARY * EMBEDDING + v] ?? 0;
          for (let d = 0; d < EMBEDDING; d++)
            z +=
              (p[x * EMBEDDING + d] ?? 0) * (p[VOCABULARY * EMBEDDING + d * VOCABULARY + v] ?? 0);
          return z;
        });
        const logSum = Math.log(logits.reduce((a, z) => a + Math.exp(z), 0));
        total += logSum - (logits[y] ?? 0);
        n++;
      }
      return total / n;
    };
    for (let sample = 0; sample < 3; sample++) {
      const analytic = sampleBodyGradient("causal-lm", params, dataset, sample);
      const h = 1e-6;
      const numeric = params.map((_, j) => {
        const up = params.map((v, k) => (k === j ? v + h : v));
        const down = params.map((v, k) => (k === j ? v - h : v));
        return (loss(up, sample) - loss(down, sample)) / (2 * h);
      });
      analytic.forEach((g, j) => {
        expect(g).toBeCloseTo(numeric[j] ?? Number.NaN, 7);
      });
    }
  });
});

describe("token weighting: verdicts on simulated loops", () => {
  it("passes the token-weighted reference: unequal and empty samples, bodies, shuffle, drop_last, epochs", () => {
    const cases: ScenarioInput[] = [
      { datasetSize: 2, batchSize: 1, accumulation: 2, lengths: [1, 2] },
      { datasetSize: 11, batchSize: 3, accumulation: 2, lengths: [0, 4, 1], model: "causal-lm" },
      {
        datasetSize: 23,
        batchSize: 4,
        accumulation: 3,
        epochs: 2,
        shuffle: 5,
        dropLast: true,
        model: "causal-lm",
      },
      { datasetSize: 9, batchSize: 2, accumulation: 2, lengths: [0] },
    ];
    for (const input of cases) {
      const d = diagnose(simulateTrace(tokens(input)));
      expect(d.verdict, JSON.stringify(input)).toBe("pass");
      expect(d.weights.lossTokens).toEqual(lossTokenCounts(parseScenario(tokens(input))));
    }
  });

  it("fails per-micro-batch token means on two micro-batches of 1 and 2 loss tokens", () => {
    const input = tokens({ datasetSize: 2, batchSize: 1, accumulation: 2, lengths: [1, 2] });
    const d = diagnose(simulateTrace(input, "two-loop"));
    expect(d.verdict).toBe("fail");
    const finding = d.properties.weighting.findings[0];
    expect(finding?.kind).toBe("step-weights");
    if (finding?.kind !== "step-weights") return;
    expect(finding.explainedBy).toBe("micro-batch-mean");
    expect(finding.window).toMatchObject({ size: 2, units: 3 });
    expect(finding.microBatches.map((mb) => mb.units)).toEqual([1, 2]);
    expect(finding.groups.map((g) => [g.weight, g.expected])).toEqual([
      [1 / 2, 1 / 3],
      [1 / 2, 2 / 3],
    ]);
    expect(d.properties.weighting.worst).toMatchObject({ units: 1, windowUnits: 3 });
    expect(d.properties.coverage.ok).toBe(true);
  });

  it("explains the documentation loop's tail by its per-micro-batch token mean / K", () => {
    const input = tokens({ datasetSize: 3, batchSize: 1, accumulation: 2, lengths: [2, 1, 3] });
    const d = diagnose(simulateTrace(input, "tail-step"));
    const findings = d.properties.weighting.findings.filter((f) => f.kind === "step-weights");
    expect(findings.map((f) => f.kind === "step-weights" && f.explainedBy)).toEqual([
      "micro-batch-mean",
      "divided-by-k",
    ]);
  });

  it("holds a sample-weighted trace to token weighting: same micro-batches, wrong weights", () => {
    const samples = simulateTrace({ datasetSize: 4, batchSize: 2, accumulation: 2 });
    const asTokens = {
      ...samples,
      scenario: parseScenario(
        tokens({ datasetSize: 4, batchSize: 2, accumulation: 2, lengths: [1, 3] }),
      ),
    };
    expect(diagnose(samples).verdict).toBe("pass");
    expect(diagnose(asTokens).verdict).toBe("fail");
    expect(diagnose(asTokens).properties.weighting.maxRelError).toBeCloseTo(1, 12);
  });

  it("counts a lost sample without loss tokens as covered, and the others as lost", () => {
    const input = tokens({ datasetSize: 3, batchSize: 1, accumulation: 2, lengths: [1, 1, 0] });
    const d = diagnose(simulateTrace(input, "docs-loop"));
    expect(d.weights.status[0]).toEqual(["ok", "ok", "ok"]);
    const lost = tokens({ datasetSize: 3, batchSize: 1, accumulation: 2, lengths: [0, 1, 1] });
    expect(diagnose(simulateTrace(lost, "docs-loop")).weights.status[0]).toEqual([
      "ok",
      "ok",
      "lost",
    ]);
  });

  it("holds every rank's window to the global token count", () => {
    const input = tokens({
      datasetSize: 10,
      batchSize: 2,
      accumulation: 2,
      worldSize: 2,
      lengths: [1, 4, 2],
    });
    expect(diagnose(simulateDataParallelTrace(input, "ddp-reference")).verdict).toBe("pass");
    expect(diagnose(simulateDataParallelTrace(input, "ddp-tail-step")).verdict).toBe("fail");
  });

  it("judges generated token scenarios: the reference passes, per-micro-batch means fail where token counts differ", () => {
    fc.assert(
      fc.property(
        scenarioArbitrary({ weightings: ["tokens"], maxWorldSize: 1, maxDatasetSize: 40 }),
        (s) => {
          expect(s.weighting).toBe("tokens");
          expect(s.lengths).toHaveLength(s.datasetSize);
          expect(diagnose(simulateTrace(s)).verdict).toBe("pass");
          const twoLoop = diagnose(simulateTrace(s, "two-loop"));
          const expectation = expectRun(s, simulateTrace(s));
          const unequal = expectation.plans.some((plan) =>
            plan.windows.some((w) => {
              const mbs = plan.byRank[0]?.slice(w.microBatches[0], w.microBatches[1] + 1) ?? [];
              const perUnit = mbs.map((mb) =>
                mb.reduce((n, i) => n + (expectation.units[i] ?? 0), 0),
              );
              return perUnit.some((u) => u !== perUnit[0]);
            }),
          );
          if (unequal) expect(twoLoop.properties.weighting.ok).toBe(false);
          else expect(twoLoop.properties.weighting.ok).toBe(true);
        },
      ),
      { numRuns: 150, seed: 11 },
    );
  });
});
