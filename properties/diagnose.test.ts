import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { expectRun } from "../reference/expectation.js";
import { simulateTrace } from "../test/support/simulated-trace.js";
import { makeDataset } from "../trainers/contract/probe.js";
import { parseScenario, type ScenarioInput } from "../trainers/contract/scenario.js";
import type { Trace } from "../trainers/contract/trace.js";
import { diagnoseTrace } from "./diagnose.js";

const scenario = (s: ScenarioInput) => parseScenario(s);
const diagnose = (trace: Trace) => diagnoseTrace(trace, makeDataset(trace.scenario));

/** Moves every fingerprint entry of step `from` into step `to` (a gradient left in .grad). */
function leakStep(trace: Trace, from: number, to: number): Trace {
  const steps = structuredClone(trace.steps);
  const source = steps[from];
  const target = steps[to];
  if (!source || !target) throw new Error("no such step");
  target.fingerprint.epochs.push(...source.fingerprint.epochs);
  target.fingerprint.samples.push(...source.fingerprint.samples);
  target.fingerprint.weights.push(...source.fingerprint.weights);
  steps.splice(from, 1);
  return { ...trace, steps };
}

describe("diagnoseTrace", () => {
  it("passes a correctly weighted trace with a logistic body", () => {
    const d = diagnose(
      simulateTrace(
        scenario({ datasetSize: 110, batchSize: 8, accumulation: 4, epochs: 2, model: "logistic" }),
      ),
    );
    expect(d.verdict).toBe("pass");
    expect(d.properties.weighting.maxRelError).toBeLessThan(1e-12);
    expect(d.properties.weighting.bodyMaxRelError).toBeLessThan(1e-12);
    expect(d.properties.windowing.expectedSteps).toBe(8);
  });

  it("finds the two-loop over-weighting on 1000/128/4 (max relative error 488/416 - 1)", () => {
    const d = diagnose(
      simulateTrace(scenario({ datasetSize: 1000, batchSize: 128, accumulation: 4 }), "two-loop"),
    );
    const w = d.properties.weighting;
    expect(d.verdict).toBe("fail");
    expect(w?.maxRelError).toBeCloseTo(488 / 416 - 1, 10);
    expect(w?.worst?.windowSize).toBe(488);
    expect(w?.worst?.sample).toBeGreaterThanOrEqual(896);
    expect(d.properties.coverage.ok).toBe(true);
    expect(d.properties.windowing.ok).toBe(true);
  });

  it("tells leaked from lost on a docs-loop-shaped trace (110/8/4, 2 epochs)", () => {
    // windows per epoch: 32, 32, 32, 14 samples; the tail step of each epoch is never taken:
    // epoch 1's tail lands in epoch 2's first step, epoch 2's tail is never applied.
    const ideal = simulateTrace(
      scenario({ datasetSize: 110, batchSize: 8, accumulation: 4, epochs: 2 }),
    );
    const leaked = leakStep(ideal, 3, 4);
    leaked.steps.pop();
    const d = diagnose(leaked);
    const c = d.properties.coverage;
    expect(c?.ok).toBe(false);
    expect(c?.epochs.map((e) => [e.applied, e.leaked, e.lost])).toEqual([
      [96, 14, 0],
      [96, 0, 14],
    ]);
    expect(c?.findings).toEqual([
      {
        kind: "leaked",
        epoch: 0,
        samples: { count: 14, ranges: [[96, 109]] },
        step: 3,
        stepEpoch: 1,
        ranks: [0],
      },
      {
        kind: "lost",
        epoch: 1,
        samples: { count: 14, ranges: [[96, 109]] },
        skippedStep: null,
        ranks: [0],
      },
    ]);
    expect(d.properties.windowing.ok).toBe(false);
    expect(d.weights.status[1]?.[109]).toBe("lost");
  });

  it("tells a step that weighted unequally from one whose equal weights mix two epochs", () => {
    const twoLoop = diagnose(
      simulateTrace(scenario({ datasetSize: 3, batchSize: 2, accumulation: 2 }), "two-loop"),
    );
    // Per-micro-batch means: 1/4 for the two samples of the full micro-batch, 1/2 for the last.
    expect(twoLoop.steps[0]).toMatchObject({ weightSpread: 1, weightRelError: 0.5 });
    // A step counter that runs across epochs on 3/1/2 over 2 epochs: every step weights its two
    // micro-batches 1/2 each, but the second step holds epoch 1's tail and epoch 2's first sample.
    const s = scenario({ datasetSize: 3, batchSize: 1, accumulation: 2, epochs: 2 });
    const occurrences: Array<Array<[number, number]>> = [
      [
        [0, 0],
        [0, 1],
      ],
      [
        [0, 2],
        [1, 0],
      ],
      [
        [1, 1],
        [1, 2],
      ],
    ];
    const trace: Trace = {
      format: "accumaudit-trace",
      version: 1,
      trainer: { name: "cross-epoch" },
      scenario: s,
      steps: occurrences.map((pairs, step) => ({
        epoch: step === 0 ? 0 : 1,
        skipped: false,
        fingerprint: {
          epochs: pairs.map(([e]) => e),
          samples: pairs.map(([, i]) => i),
          weights: pairs.map(() => 0.5),
        },
        body: null,
      })),
    };
    const mixed = diagnose(trace);
    expect(mixed.steps.map((st) => st.weightSpread)).toEqual([0, 0, 0]);
    const finding = mixed.properties.weighting.findings.find((f) => f.kind === "step-weights");
    expect(finding).toMatchObject({ step: 1, spread: 0, relError: 0.5 });
    expect(finding?.kind === "step-weights" && finding.groups).toEqual([
      {
        epoch: 0,
        samples: { count: 1, ranges: [[2, 2]] },
        weight: 0.5,
        expected: 1,
        clip: 1,
        relError: 0.5,
      },
      {
        epoch: 1,
        samples: { count: 1, ranges: [[0, 0]] },
        weight: 0.5,
        expected: 0.5,
        clip: 1,
        relError: 0,
      },
    ]);
  });

  it("reports samples dropped by drop_last apart from lost ones", () => {
    const d = diagnose(
      simulateTrace(scenario({ datasetSize: 110, batchSize: 8, accumulation: 4, dropLast: true })),
    );
    const c = d.properties.coverage;
    expect(d.verdict).toBe("pass");
    expect(c?.epochs[0]).toMatchObject({ expected: 104, applied: 104, dropped: 6, lost: 0 });
  });

  it("counts a sample in two applied steps as duplicated and a skipped step's samples as lost", () => {
    const trace = simulateTrace(scenario({ datasetSize: 12, batchSize: 2, accumulation: 2 }));
    const steps = structuredClone(trace.steps);
    const first = steps[0];
    if (!first || !steps[2]) throw new Error("steps missing");
    steps[2].fingerprint.samples.push(5);
    steps[2].fingerprint.epochs.push(0);
    steps[2].fingerprint.weights.push(0.25);
    steps[0] = { ...first, skipped: true, fingerprint: { epochs: [], samples: [], weights: [] } };
    const d = diagnose({ ...trace, steps });
    const c = d.properties.coverage;
    expect(c?.epochs[0]).toMatchObject({ applied: 7, lost: 4, duplicated: 1 });
    expect(c?.findings).toEqual([
      {
        kind: "lost",
        epoch: 0,
        samples: { count: 4, ranges: [[0, 3]] },
        skippedStep: 0,
        ranks: [0],
      },
      {
        kind: "duplicated",
        epoch: 0,
        samples: { count: 1, ranges: [[5, 5]] },
        steps: [1, 2],
        seenOnRanks: [0],
        likelyCause: null,
      },
    ]);
  });

  it("matches a step to a window by its occurrences as a multiset, in any order", () => {
    const trace = simulateTrace(scenario({ datasetSize: 12, batchSize: 2, accumulation: 2 }));
    const reversed = structuredClone(trace.steps);
    for (const step of reversed) {
      step.fingerprint.epochs.reverse();
      step.fingerprint.samples.reverse();
      step.fingerprint.weights.reverse();
    }
    expect(diagnose({ ...trace, steps: reversed }).properties.windowing.ok).toBe(true);
    const repeated = structuredClone(trace.steps);
    const second = repeated[1]?.fingerprint;
    if (!second) throw new Error("steps missing");
    second.epochs.push(second.epochs[0] ?? 0);
    second.samples.push(second.samples[0] ?? 0);
    second.weights.push(second.weights[0] ?? 0);
    const unmatched = diagnose({ ...trace, steps: repeated }).properties.windowing.findings.filter(
      (f) => f.kind === "unmatched-window",
    );
    expect(unmatched).toEqual([expect.objectContaining({ window: 1, step: 1, sharedSamples: 5 })]);
  });

  it("matches a window exactly when some step holds its occurrences, each once (against sorted keys)", () => {
    /** The windows no step matches, by the definition: sorted occurrence keys equal. */
    const unmatchedBySortedKeys = (trace: Trace): string[] => {
      const { datasetSize: n } = trace.scenario;
      const sorted = (keys: number[]) => keys.sort((a, b) => a - b).join(",");
      const stepKeys = new Set(
        trace.steps
          .filter((step) => !step.skipped)
          .map((step) => {
            const f = step.fingerprint;
            return sorted(
              f.samples.flatMap((s, k) => (f.weights[k] === 0 ? [] : [(f.epochs[k] ?? 0) * n + s])),
            );
          }),
      );
      return expectRun(trace.scenario, trace)
        .plans.flatMap((plan) => plan.windows)
        .filter((w) => !stepKeys.has(sorted(w.samples.map((s) => w.epoch * n + s))))
        .map((w) => `${w.epoch}:${w.index}`);
    };
    const edit = fc.record({
      step: fc.nat(),
      entry: fc.nat(),
      other: fc.nat(),
      how: fc.constantFrom("duplicate", "replace", "remove", "add", "move-epoch", "reverse"),
    });
    fc.assert(
      fc.property(
        fc.record({
          datasetSize: fc.integer({ min: 2, max: 40 }),
          batchSize: fc.integer({ min: 1, max: 6 }),
          accumulation: fc.integer({ min: 1, max: 3 }),
          epochs: fc.integer({ min: 1, max: 2 }),
        }),
        fc.array(edit, { maxLength: 3 }),
        (input, edits) => {
          const trace = simulateTrace(scenario(input));
          const steps = structuredClone(trace.steps);
          const { datasetSize: n, epochs } = trace.scenario;
          for (const { step, entry, other, how } of edits) {
            const f = steps[step % steps.length]?.fingerprint;
            if (!f || f.samples.length === 0) continue;
            const k = entry % f.samples.length;
            const j = other % f.samples.length;
            if (how === "duplicate") {
              f.samples[k] = f.samples[j] as number;
              f.epochs[k] = f.epochs[j] as number;
            } else if (how === "replace") f.samples[k] = other % n;
            else if (how === "remove") {
              for (const list of [f.samples, f.epochs, f.weights]) list.splice(k, 1);
            } else if (how === "add") {
              f.samples.push(other % n);
              f.epochs.push(other % epochs);
              f.weights.push(f.weights[k] as number);
            } else if (how === "move-epoch") f.epochs[k] = other % epochs;
            else for (const list of [f.samples, f.epochs, f.weights]) list.reverse();
          }
          const edited = { ...trace, steps };
          const found = diagnose(edited).properties.windowing.findings.flatMap((f) =>
            f.kind === "unmatched-window" ? [`${f.epoch}:${f.window}`] : [],
          );
          expect(found).toEqual(unmatchedBySortedKeys(edited));
        },
      ),
      { numRuns: 400 },
    );
  });

  it("fails weighting on a NaN weight and on a perturbed body gradient", () => {
    const trace = simulateTrace(
      scenario({ datasetSize: 20, batchSize: 4, accumulation: 2, model: "mlp" }),
    );
    const nan = structuredClone(trace);
    if (nan.steps[1]) nan.steps[1].fingerprint.weights[0] = Number.NaN;
    expect(diagnose(nan).properties.weighting.ok).toBe(false);
    const off = structuredClone(trace);
    const body = off.steps[2]?.body;
    if (body) body.gradient[0] = (body.gradient[0] as number) + 1e-2;
    const w = diagnose(off).properties.weighting;
    expect(w?.ok).toBe(false);
    expect(w?.bodyWorstStep).toBe(2);
    expect(w?.maxRelError).toBe(0);
  });

  it("any single weight off by more than the tolerance is caught; exact traces always pass", () => {
    fc.assert(
      fc.property(
        fc.record({
          datasetSize: fc.integer({ min: 1, max: 60 }),
          batchSize: fc.integer({ min: 1, max: 9 }),
          accumulation: fc.integer({ min: 1, max: 5 }),
          dropLast: fc.boolean(),
          epochs: fc.integer({ min: 1, max: 3 }),
        }),
        fc.nat(),
        fc.double({ min: 2e-4, max: 10, noNaN: true }),
        (input, pick, relative) => {
          const s = scenario(input);
          const trace = simulateTrace(s);
          if (diagnose(trace).verdict !== "pass") return false;
          const applied = trace.steps.filter((st) => st.fingerprint.weights.length > 0);
          const step = applied[pick % Math.max(applied.length, 1)];
          if (!step) return true;
          const k = pick % step.fingerprint.weights.length;
          step.fingerprint.weights[k] = (step.fingerprint.weights[k] as number) * (1 + relative);
          return diagnose(trace).properties.weighting.ok === false;
        },
      ),
      { numRuns: 150 },
    );
  });
});
