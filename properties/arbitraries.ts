import fc from "fast-check";
import { MODELS, PRECISIONS, parseScenario, type Scenario } from "../trainers/contract/scenario.js";

/** Bounds of generated scenarios. */
export interface ScenarioSpace {
  maxDatasetSize: number;
  maxBatchSize: number;
  maxAccumulation: number;
  maxEpochs: number;
  /** World sizes (data-parallel ranks) drawn, at least and at most; an audit lowers the most to what the trainer runs. */
  minWorldSize: number;
  maxWorldSize: number;
  models: ReadonlyArray<Scenario["model"]>;
  precisions: ReadonlyArray<Scenario["precision"]>;
  /** Generate shuffled scenarios too. */
  shuffle: boolean;
}

/** Small enough to run hundreds of cases per trainer, large enough for every remainder pattern. */
export const DEFAULT_SPACE: ScenarioSpace = {
  maxDatasetSize: 160,
  maxBatchSize: 24,
  maxAccumulation: 6,
  maxEpochs: 3,
  minWorldSize: 1,
  maxWorldSize: 4,
  models: ["fingerprint", "logistic"],
  precisions: ["fp32"],
  shuffle: true,
};

/**
 * Scenarios from the space. The dataset size is built from the structure that matters, so that
 * shrinking can walk it down: each of W ranks gets (fullWindows * K + tailMicroBatches) * B +
 * remainder samples and `rankRemainder` ranks one more, N = that * W + rankRemainder, with the
 * tail, remainders taken modulo K, B and W. Every field shrinks towards the simplest value (one
 * rank, no full windows, no drop_last, no shuffle, one epoch, the first model and precision
 * listed), so a failure shrinks to a minimal counterexample.
 */
export function scenarioArbitrary(space: Partial<ScenarioSpace> = {}): fc.Arbitrary<Scenario> {
  const s = { ...DEFAULT_SPACE, ...space };
  const models = s.models.length > 0 ? s.models : MODELS;
  const precisions = s.precisions.length > 0 ? s.precisions : PRECISIONS;
  return (
    fc
      .record({
        batchSize: fc.integer({ min: 1, max: s.maxBatchSize }),
        accumulation: fc.integer({ min: 1, max: s.maxAccumulation }),
        fullWindows: fc.integer({ min: 0, max: 8 }),
        tailMicroBatches: fc.integer({ min: 0, max: s.maxAccumulation }),
        remainder: fc.integer({ min: 0, max: s.maxBatchSize }),
        worldSize: fc.integer({
          min: s.minWorldSize,
          max: Math.max(s.minWorldSize, s.maxWorldSize),
        }),
        rankRemainder: fc.integer({ min: 0, max: Math.max(0, s.maxWorldSize - 1) }),
        dropLast: fc.boolean(),
        shuffle: s.shuffle
          ? fc.option(fc.integer({ min: 0, max: 9999 }), { nil: false as const })
          : fc.constant(false as const),
        epochs: fc.integer({ min: 1, max: s.maxEpochs }),
        precision: fc.constantFrom(...precisions),
        model: fc.constantFrom(...models),
        dataSeed: fc.integer({ min: 0, max: 9999 }),
      })
      .map(({ fullWindows, tailMicroBatches, remainder, rankRemainder, ...rest }) => {
        const { batchSize: b, accumulation: k, worldSize: w } = rest;
        const perRank = (fullWindows * k + (tailMicroBatches % k)) * b + (remainder % b);
        const datasetSize = perRank * w + (rankRemainder % w);
        return { ...rest, datasetSize };
      })
      // Out-of-range sizes are rejected rather than clamped: a clamped size would not move when
      // the fields shrink, and shrinking would stall at the clamp.
      .filter(({ datasetSize }) => datasetSize >= 1 && datasetSize <= s.maxDatasetSize)
      .map((input) =>
        // drop_last with fewer than B samples on a rank leaves it an empty epoch: nothing to
        // audit, and some frameworks refuse it.
        parseScenario({
          ...input,
          dropLast: input.dropLast && input.datasetSize >= input.batchSize * input.worldSize,
        }),
      )
  );
}

/**
 * The mission's scenarios, checked beside every search: 110/8/4 over 2 epochs (the documentation
 * loop's lost tail) and 1000/128/4 (the two-loop's over-weighted last micro-batch).
 */
export function missionScenarios(
  model: Scenario["model"] = "fingerprint",
  precision: Scenario["precision"] = "fp32",
  worldSize = 1,
): Scenario[] {
  const common = { model, precision, worldSize };
  return [
    parseScenario({ datasetSize: 110, batchSize: 8, accumulation: 4, epochs: 2, ...common }),
    parseScenario({ datasetSize: 1000, batchSize: 128, accumulation: 4, ...common }),
  ];
}
