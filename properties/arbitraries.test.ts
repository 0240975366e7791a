import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { Scenario } from "../trainers/contract/scenario.js";
import { DEFAULT_SPACE, defaultMaxDatasetSize, scenarioArbitrary } from "./arbitraries.js";
import { leastDatasetSize, type ScenarioPins } from "./pinned-size.js";

/** Pins as `audit` takes them: any subset of the fields a user trains with. */
const pinsArbitrary: fc.Arbitrary<ScenarioPins> = fc.record(
  {
    datasetSize: fc.integer({ min: 1, max: 3000 }),
    batchSize: fc.integer({ min: 1, max: 200 }),
    accumulation: fc.integer({ min: 1, max: 64 }),
    worldSize: fc.integer({ min: 1, max: 4 }),
    epochs: fc.integer({ min: 1, max: 6 }),
    dropLast: fc.constant(true),
    shuffle: fc.integer({ min: 0, max: 0xffffffff }),
    precision: fc.constantFrom("fp32", "fp16", "bf16"),
    model: fc.constantFrom("fingerprint", "logistic", "mlp"),
    dataSeed: fc.integer({ min: 0, max: 99 }),
    learningRate: fc.constantFrom(0.01, 0.5),
    clipNorm: fc.constantFrom(0.1, 2),
    schedule: fc.constantFrom("linear", "cosine", "step"),
    warmupSteps: fc.integer({ min: 0, max: 4 }),
    ema: fc.constantFrom(0.5, 0.99),
    optimizer: fc.constantFrom("sgd", "adamw"),
  },
  { requiredKeys: [] },
);

/** The number of micro-batches of the first rank's loader (ceil(N / W) samples). */
const microBatches = (s: Scenario) => {
  const samples = Math.ceil(s.datasetSize / s.worldSize);
  return s.dropLast ? Math.floor(samples / s.batchSize) : Math.ceil(samples / s.batchSize);
};

describe("scenarioArbitrary with pins", () => {
  it("keeps every pinned field in every draw, within the bound, for any pins", () => {
    fc.assert(
      fc.property(pinsArbitrary, fc.integer(), (pins, seed) => {
        fc.pre(pins.datasetSize === undefined || pins.datasetSize >= leastDatasetSize(pins));
        const maxDatasetSize = defaultMaxDatasetSize(pins);
        const space = { pinned: pins, maxDatasetSize };
        for (const s of fc.sample(scenarioArbitrary(space), { numRuns: 25, seed })) {
          expect(s).toMatchObject(pins);
          expect(s.datasetSize).toBeLessThanOrEqual(maxDatasetSize);
          if (pins.dropLast)
            expect(s.datasetSize).toBeGreaterThanOrEqual(s.batchSize * s.worldSize);
        }
      }),
      { numRuns: 200, seed: 20 },
    );
  });

  it("holds B, K, E and shuffle in 500 draws while N, W, drop_last and the model still vary", () => {
    const pinned = { batchSize: 16, accumulation: 4, epochs: 2, shuffle: 7 };
    const draws = fc.sample(scenarioArbitrary({ pinned, maxDatasetSize: 160 }), {
      numRuns: 500,
      seed: 3,
    });
    for (const s of draws) expect(s).toMatchObject(pinned);
    expect(new Set(draws.map((s) => s.datasetSize)).size).toBeGreaterThan(50);
    expect(new Set(draws.map((s) => s.worldSize)).size).toBe(4);
    expect(new Set(draws.map((s) => s.dropLast)).size).toBe(2);
    // Complete and incomplete last windows alike.
    expect(new Set(draws.map((s) => microBatches(s) % 4 === 0)).size).toBe(2);
  });

  it("draws only scenarios a pinned drop_last applies to, instead of turning it off", () => {
    const draws = fc.sample(scenarioArbitrary({ pinned: { dropLast: true } }), {
      numRuns: 500,
      seed: 1,
    });
    for (const s of draws) {
      expect(s.dropLast).toBe(true);
      expect(s.datasetSize).toBeGreaterThanOrEqual(s.batchSize * s.worldSize);
    }
    // Some still drop a short micro-batch.
    expect(draws.some((s) => s.datasetSize % s.batchSize !== 0)).toBe(true);
  });

  it("draws B and W that a pinned N allows under a pinned drop_last", () => {
    const pinned = { datasetSize: 20, dropLast: true };
    const draws = fc.sample(scenarioArbitrary({ pinned }), { numRuns: 300, seed: 4 });
    for (const s of draws) {
      expect(s).toMatchObject(pinned);
      expect(s.batchSize * s.worldSize).toBeLessThanOrEqual(20);
    }
    expect(new Set(draws.map((s) => s.batchSize)).size).toBeGreaterThan(10);
  });

  it("keeps a pinned model to the weightings that train it, and pinned loss tokens to tokens", () => {
    const both = { weightings: ["samples", "tokens"] as const };
    for (const s of fc.sample(scenarioArbitrary({ ...both, pinned: { model: "logistic" } }), 200))
      expect(s).toMatchObject({ model: "logistic", weighting: "samples" });
    const lengths = [3, 0, 2, 5, 1, 1, 4, 2, 2, 2];
    const pinned = { weighting: "tokens" as const, lengths };
    for (const s of fc.sample(scenarioArbitrary({ pinned }), 200)) {
      expect(s.lengths).toEqual(lengths);
      expect(s.datasetSize).toBeGreaterThanOrEqual(lengths.length);
    }
  });

  it.each([
    // [pins, a property of the scenario that fails, the scenario it shrinks to]
    [
      { dropLast: true },
      (s: Scenario) => microBatches(s) % s.accumulation === 0,
      { datasetSize: 1, batchSize: 1, accumulation: 2, worldSize: 1, dropLast: true, epochs: 1 },
    ],
    [
      { batchSize: 16, accumulation: 4, epochs: 2, shuffle: 5 },
      (s: Scenario) => s.datasetSize % 16 === 0,
      { datasetSize: 1, batchSize: 16, accumulation: 4, epochs: 2, shuffle: 5, dropLast: false },
    ],
    [
      { datasetSize: 110, dropLast: true },
      (s: Scenario) => s.batchSize <= 20,
      { datasetSize: 110, batchSize: 21, accumulation: 1, worldSize: 1, epochs: 1 },
    ],
  ] as const)(
    "shrinks under pins %j to the simplest failing scenario",
    (pinned, holds, minimal) => {
      const arbitrary = scenarioArbitrary({ pinned, models: ["fingerprint"], shuffle: false });
      for (const seed of [1, 2, 3]) {
        const details = fc.check(fc.property(arbitrary, holds), { seed, numRuns: 200 });
        expect(details.counterexample?.[0], `seed ${seed}`).toMatchObject(minimal);
      }
    },
  );

  it("refuses pins that leave the bound no scenario, naming the numbers", () => {
    expect(() =>
      scenarioArbitrary({ pinned: { dropLast: true, batchSize: 64 }, maxDatasetSize: 40 }),
    ).toThrow("scenarioArbitrary: expected the pins to allow 64 to 40 samples");
    expect(() => scenarioArbitrary({ pinned: { datasetSize: 500 } })).toThrow(
      "saw datasetSize 500",
    );
  });

  it("raises the default bound to a pinned N and to two full windows of the pinned B, K and W", () => {
    expect(defaultMaxDatasetSize({})).toBe(DEFAULT_SPACE.maxDatasetSize);
    expect(defaultMaxDatasetSize({ worldSize: 4 })).toBe(DEFAULT_SPACE.maxDatasetSize);
    expect(defaultMaxDatasetSize({ datasetSize: 1000 })).toBe(1000);
    expect(defaultMaxDatasetSize({ batchSize: 128, accumulation: 4, worldSize: 2 })).toBe(2048);
    expect(leastDatasetSize({ dropLast: true, batchSize: 16, worldSize: 4 })).toBe(64);
    expect(leastDatasetSize({ weighting: "tokens", lengths: [1, 2, 3], batchSize: 2 })).toBe(4);
  });
});

describe("scenarioArbitrary with --step-semantics", () => {
  it("draws every step-semantics field, an overflow only under fp16, and none without it", () => {
    const space = { stepSemantics: true, precisions: ["fp32", "fp16"] as const };
    const drawn = fc.sample(scenarioArbitrary({ ...space, precisions: [...space.precisions] }), {
      numRuns: 400,
      seed: 7,
    });
    expect(drawn.some((s) => s.clipNorm !== undefined)).toBe(true);
    expect(new Set(drawn.map((s) => s.schedule))).toEqual(
      new Set(["constant", "linear", "cosine", "step"]),
    );
    expect(drawn.some((s) => s.warmupSteps > 0)).toBe(true);
    expect(drawn.some((s) => s.ema !== undefined)).toBe(true);
    expect(drawn.some((s) => s.optimizer === "adamw")).toBe(true);
    expect(drawn.some((s) => s.overflowStep !== undefined)).toBe(true);
    expect(drawn.every((s) => s.overflowStep === undefined || s.precision === "fp16")).toBe(true);
    const plain = fc.sample(scenarioArbitrary(), { numRuns: 200, seed: 7 });
    expect(
      plain.every(
        (s) =>
          s.clipNorm === undefined &&
          s.schedule === "constant" &&
          s.warmupSteps === 0 &&
          s.ema === undefined &&
          s.optimizer === "sgd",
      ),
    ).toBe(true);
  });

  it("shrinks a failure that needs only an average to the average alone", () => {
    const failure = fc.check(
      fc.property(scenarioArbitrary({ stepSemantics: true }), (s) => s.ema === undefined),
      { seed: 11, numRuns: 200 },
    );
    const [shrunk] = failure.counterexample ?? [];
    expect(shrunk).toMatchObject({ schedule: "constant", warmupSteps: 0, optimizer: "sgd" });
    expect(shrunk?.ema).toBeDefined();
    expect(shrunk?.clipNorm).toBeUndefined();
  });
});
