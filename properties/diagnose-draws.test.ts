/**
 * The oracle of a run that draws with replacement, on traces of loops simulated in float64
 * (test/support/draw-loop.ts): every draw counts, a window is K drawn micro-batches, `steps` of
 * them. The real oracle judges; the fixtures only run the loops.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { detectMistakes } from "../reports/mistakes/index.js";
import { explainCheck, propertyMessage } from "../reports/sentences/index.js";
import { DRAW_REFERENCE, NANOGPT, simulateDrawLoop } from "../test/support/draw-loop.js";
import { makeDataset } from "../trainers/contract/probe.js";
import type { ScenarioInput } from "../trainers/contract/scenario.js";
import type { Trace } from "../trainers/contract/trace.js";
import { diagnoseTrace } from "./diagnose.js";
import { PROPERTY_NAMES } from "./outcome.js";

const diagnose = (trace: Trace) => diagnoseTrace(trace, makeDataset(trace.scenario));

const DRAWN = {
  datasetSize: 50,
  batchSize: 4,
  accumulation: 3,
  sampling: "replacement",
  steps: 5,
  model: "logistic",
} as const satisfies ScenarioInput;

/** Every line the check says, JSON messages and explanation alike. */
function words(trace: Trace): string {
  const check = diagnose(trace);
  return [...PROPERTY_NAMES.map((p) => propertyMessage(check, p)), explainCheck(check)].join("\n");
}

describe("a run that draws with replacement", () => {
  it("passes nanoGPT's loop (micro-batch mean / K) and the reference loop, samples drawn twice included", () => {
    for (const rules of [NANOGPT, DRAW_REFERENCE]) {
      const trace = simulateDrawLoop(DRAWN, rules);
      const repeated = trace.microBatches?.some((mb, k) =>
        trace.microBatches?.slice(0, k).some((o) => o.samples.some((s) => mb.samples.includes(s))),
      );
      expect(repeated).toBe(true);
      const check = diagnose(trace);
      expect(check.verdict).toBe("pass");
      expect(check.properties.windowing).toMatchObject({ expectedSteps: 5, appliedSteps: 5 });
      expect(check.properties.coverage.epochs).toEqual([
        { epoch: 0, expected: 60, applied: 60, lost: 0, leaked: 0, duplicated: 0, dropped: 0 },
      ]);
      expect(check.properties.weighting.bodyMaxRelError).toBeLessThan(1e-12);
      expect(propertyMessage(check, "coverage")).toBe("every draw applied exactly once (60 draws)");
      expect(propertyMessage(check, "windowing")).toBe(
        "5 applied steps, one per window of 3 drawn micro-batches",
      );
    }
  });

  it("counts a sample drawn twice in a window twice: the minimal case, one step of two draws of one sample", () => {
    const base: Trace = {
      format: "accumaudit-trace",
      version: 2,
      trainer: { name: "hand-built" },
      scenario: {
        ...simulateDrawLoop(
          {
            ...DRAWN,
            datasetSize: 2,
            batchSize: 1,
            accumulation: 2,
            steps: 1,
            model: "fingerprint",
          },
          DRAW_REFERENCE,
        ).scenario,
      },
      steps: [
        {
          epoch: 0,
          skipped: false,
          fingerprint: { epochs: [0], samples: [1], weights: [1] },
          body: null,
        },
      ],
      microBatches: [
        { epoch: 0, samples: [1], stepsBefore: 0, rank: 0 },
        { epoch: 0, samples: [1], stepsBefore: 0, rank: 0 },
      ],
    };
    expect(diagnose(base).verdict).toBe("pass");
    // A step that counts sample 1 once (one draw's worth, 1/2) is off: both its draws are due.
    const half = structuredClone(base);
    (half.steps[0] as Trace["steps"][number]).fingerprint.weights = [0.5];
    const check = diagnose(half);
    expect(check.verdict).toBe("fail");
    expect(check.properties.weighting.worst).toMatchObject({
      sample: 1,
      weight: 0.5,
      expectedWeight: 1,
    });
    expect(propertyMessage(check, "weighting")).toMatch(
      /^step 1 gave sample 1 weight 1\/2; its draws are due 1\/1: relative error 0\.5 > tolerance/,
    );
  });

  it("finds the draws a gradient not cleared applies again, and names that mistake alone", () => {
    const trace = simulateDrawLoop(DRAWN, { ...NANOGPT, zeroGrad: false });
    const check = diagnose(trace);
    expect(check.properties.coverage.ok).toBe(false);
    const kinds = new Set(check.properties.coverage.findings.map((f) => f.kind));
    expect([...kinds]).toEqual(["duplicated-draws"]);
    const first = check.properties.coverage.findings[0];
    expect(first).toMatchObject({ kind: "duplicated-draws", window: 0 });
    expect(first && "steps" in first ? first.steps.slice(0, 2) : []).toEqual([0, 1]);
    expect(propertyMessage(check, "coverage")).toMatch(
      /^\d+ of 60 draws of the 5 windows applied exactly once; \d+ draws of window 1 applied by /,
    );
    const ids = detectMistakes(check).map((m) => m.id);
    expect(ids[0]).toBe("applied-twice");
    expect(words(trace)).not.toMatch(/epoch|tail/i);
  });

  it("loses the last window's draws when the loop steps one time fewer than it draws windows", () => {
    const trace = simulateDrawLoop(DRAWN, {
      ...NANOGPT,
      stepAfter: (s) => (s.position + 1) % s.k === 0 && s.position < 12,
    });
    const check = diagnose(trace);
    const lost = check.properties.coverage.findings;
    expect(lost).toEqual([
      expect.objectContaining({
        kind: "lost-draws",
        window: 4,
        microBatches: [12, 14],
        draws: 12,
        skippedStep: null,
      }),
    ]);
    expect(propertyMessage(check, "coverage")).toMatch(
      /^48 of 60 draws of the 5 windows applied exactly once; 12 draws of window 5 never applied \(samples /,
    );
    expect(check.properties.windowing.findings[0]).toEqual({
      kind: "step-count",
      expected: 5,
      applied: 4,
    });
    expect(check.properties.weighting.ok).toBe(true);
    expect(detectMistakes(check).map((m) => m.id)).toEqual(["draws-never-stepped"]);
    expect(words(trace)).not.toMatch(/epoch|tail/i);
  });

  it("reads a loss never divided as that mistake, its coverage and windows right", () => {
    const check = diagnose(simulateDrawLoop(DRAWN, { ...NANOGPT, scale: (s) => 1 / s.units }));
    expect(check.properties.coverage.ok).toBe(true);
    expect(check.properties.windowing.ok).toBe(true);
    expect(check.properties.weighting.maxRelError).toBeCloseTo(2, 10);
    expect(detectMistakes(check).map((m) => m.id)).toEqual(["loss-not-divided"]);
  });

  it("holds nanoGPT's micro-batch token mean / K to token weighting, and names it", () => {
    const trace = simulateDrawLoop({ ...DRAWN, weighting: "tokens", model: "causal-lm" }, NANOGPT);
    const check = diagnose(trace);
    expect(check.properties.weighting.ok).toBe(false);
    expect(check.properties.coverage.ok).toBe(true);
    expect(detectMistakes(check).map((m) => m.id)).toEqual(["micro-batch-mean"]);
    const right = diagnose(
      simulateDrawLoop({ ...DRAWN, weighting: "tokens", model: "causal-lm" }, DRAW_REFERENCE),
    );
    expect(right.verdict).toBe("pass");
  });

  it("lists what no known mistake explains: every step scaled by one factor", () => {
    const check = diagnose(
      simulateDrawLoop(DRAWN, { ...NANOGPT, scale: (s) => 0.5 / (s.k * s.units) }),
    );
    const mistakes = detectMistakes(check);
    expect(mistakes.map((m) => m.id)).toEqual(["unexplained"]);
    const shows = mistakes[0]?.evidence.map((e) => e.shows) ?? [];
    expect(shows).toHaveLength(10); // each step's weights, then each step's body gradient
    expect(shows[0]).toMatch(
      /^step 1 gave .* weight 1\/24; .*; every weight is 0\.5 times what was due$/,
    );
    expect(shows[5]).toMatch(
      /^step 1's body gradient is off the float64 oracle over its window's draws by .*; it is 0\.5 times the oracle's$/,
    );
  });

  it("reports windows never drawn and micro-batches drawn beyond the scenario's steps", () => {
    const longer = simulateDrawLoop({ ...DRAWN, steps: 6 }, DRAW_REFERENCE);
    const extra = diagnose({ ...longer, scenario: { ...longer.scenario, steps: 5 } });
    expect(extra.properties.windowing.findings).toEqual([
      { kind: "step-count", expected: 5, applied: 6 },
      { kind: "extra-draws", microBatches: [15, 17], draws: 12, steps: [5] },
    ]);
    expect(propertyMessage(extra, "windowing")).toContain(
      "micro-batches 16–18 (12 draws) drawn beyond the scenario's 5 steps; step 6 applied some",
    );
    const shorter = diagnose({ ...longer, scenario: { ...longer.scenario, steps: 8 } });
    expect(shorter.properties.windowing.findings).toContainEqual({
      kind: "unproduced-windows",
      epoch: 0,
      windows: [6, 7],
      microBatches: 6,
      producedMicroBatches: 18,
      samples: 24,
    });
  });

  it("counts a window redone after a skipped step once", () => {
    const trace = simulateDrawLoop({ ...DRAWN, model: "fingerprint" }, DRAW_REFERENCE);
    const [first, second, third] = trace.microBatches ?? [];
    if (!first || !second || !third) throw new Error("no micro-batches");
    const redone: Trace = {
      ...trace,
      // The first window ran once into a skipped step, then again into the applied one.
      steps: [
        {
          epoch: 0,
          skipped: true,
          fingerprint: { epochs: [], samples: [], weights: [] },
          body: null,
        },
        ...trace.steps,
      ],
      microBatches: [
        ...[first, second, third].map((mb) => ({ ...mb, stepsBefore: 0 })),
        ...(trace.microBatches ?? []).map((mb) => ({ ...mb, stepsBefore: mb.stepsBefore + 1 })),
      ],
    };
    const check = diagnose(redone);
    expect(check.verdict).toBe("pass");
    expect(propertyMessage(check, "windowing")).toBe(
      "5 applied steps, one per window of 3 drawn micro-batches; 1 skipped step redone",
    );
  });

  it("shrinks nanoGPT's token-weighted failure to one step of two single draws with different loss tokens", () => {
    // Draws are part of the scenario here, so the shrink reaches the smallest one that fails.
    const arbitrary = fc
      .record({
        batchSize: fc.integer({ min: 1, max: 3 }),
        accumulation: fc.integer({ min: 1, max: 3 }),
        steps: fc.integer({ min: 1, max: 3 }),
        lengths: fc.array(fc.integer({ min: 1, max: 4 }), { minLength: 1, maxLength: 5 }),
      })
      .chain((s) =>
        fc
          .array(
            fc.array(fc.integer({ min: 0, max: s.lengths.length - 1 }), {
              minLength: s.batchSize,
              maxLength: s.batchSize,
            }),
            { minLength: s.steps * s.accumulation, maxLength: s.steps * s.accumulation },
          )
          .map((draws) => ({ ...s, draws })),
      );
    const result = fc.check(
      fc.property(arbitrary, (s) => {
        const input: ScenarioInput = {
          datasetSize: s.lengths.length,
          batchSize: s.batchSize,
          accumulation: s.accumulation,
          sampling: "replacement",
          steps: s.steps,
          weighting: "tokens",
          lengths: s.lengths,
        };
        return (
          diagnose(simulateDrawLoop(input, { ...NANOGPT, batches: s.draws })).verdict === "pass"
        );
      }),
      { seed: 20, numRuns: 300 },
    );
    expect(result.failed).toBe(true);
    const [minimal] = result.counterexample ?? [];
    expect(minimal).toMatchObject({ batchSize: 1, accumulation: 2, steps: 1 });
    // Two micro-batches of one draw each, whose samples hold different loss-token counts.
    const [a, b] = minimal?.draws.flat() ?? [];
    expect(minimal?.draws).toHaveLength(2);
    expect(minimal?.lengths[a as number]).not.toBe(minimal?.lengths[b as number]);
  });
});

describe("a run audited by epochs whose loop draws with replacement", () => {
  it("says so plainly, names the flags that audit it, and no epoch-tail mistake", () => {
    const drawn = simulateDrawLoop(DRAWN, NANOGPT).microBatches?.map((mb) => mb.samples) ?? [];
    const trace = simulateDrawLoop(
      { datasetSize: 50, batchSize: 4, accumulation: 3, model: "logistic" },
      { ...NANOGPT, batches: drawn },
    );
    const check = diagnose(trace);
    const [first] = check.properties.coverage.findings;
    expect(first).toMatchObject({
      kind: "drawn-with-replacement",
      epoch: 0,
      appliedSteps: 5,
    });
    expect(propertyMessage(check, "coverage")).toMatch(
      /^the loop draws samples with replacement \(sample \d+ (in micro-batches \d+ and \d+|twice in micro-batch \d+) of epoch 1, \d+ others drawn twice or more; \d+ samples never drawn\): coverage per epoch does not apply; audit it with --sampling replacement --steps 5$/,
    );
    expect(detectMistakes(check).map((m) => m.id)).toEqual(["draws-with-replacement"]);
    expect(explainCheck(check)).not.toMatch(/tail|leak/i);
  });

  it("leaves a loop that feeds every sample once alone", () => {
    const trace = simulateDrawLoop(
      { datasetSize: 12, batchSize: 4, accumulation: 3, model: "logistic" },
      {
        ...NANOGPT,
        batches: [
          [0, 1, 2, 3],
          [4, 5, 6, 7],
          [8, 9, 10, 11],
        ],
      },
    );
    expect(diagnose(trace).verdict).toBe("pass");
  });
});
