import fc from "fast-check";
import {
  MAX_LOSS_TOKENS,
  MODELS_BY_WEIGHTING,
  PRECISIONS,
  parseScenario,
  type Scenario,
  WEIGHTINGS,
} from "../trainers/contract/scenario.js";

/** Bounds of generated scenarios. */
export interface ScenarioSpace {
  maxDatasetSize: number;
  maxBatchSize: number;
  maxAccumulation: number;
  maxEpochs: number;
  /** World sizes (data-parallel ranks) drawn, at least and at most; an audit lowers the most to what the trainer runs. */
  minWorldSize: number;
  maxWorldSize: number;
  /** Models drawn; each scenario takes those its weighting allows (all of them when none is listed). */
  models: ReadonlyArray<Scenario["model"]>;
  /** Weightings drawn, the first listed the simplest. */
  weightings: ReadonlyArray<Scenario["weighting"]>;
  /** Most loss tokens a generated sample holds (token weighting). */
  maxLossTokens: number;
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
  models: ["fingerprint", "logistic", "causal-lm"],
  weightings: ["samples"],
  maxLossTokens: 6,
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
 *
 * Under token weighting each sample's loss-token count comes from a short pattern (1 to 6
 * counts of at least 1, repeated over the samples), and optionally every z-th sample has none:
 * both shrink towards one token per sample and no empty samples, so a counterexample keeps only
 * the unequal counts that matter. The counts are written into the scenario as a list.
 */
export function scenarioArbitrary(space: Partial<ScenarioSpace> = {}): fc.Arbitrary<Scenario> {
  const s = { ...DEFAULT_SPACE, ...space };
  const precisions = s.precisions.length > 0 ? s.precisions : PRECISIONS;
  const weightings = s.weightings.length > 0 ? s.weightings : WEIGHTINGS;
  const modelsFor = (weighting: Scenario["weighting"]): ReadonlyArray<Scenario["model"]> => {
    const allowed: ReadonlyArray<Scenario["model"]> = MODELS_BY_WEIGHTING[weighting];
    const listed = s.models.filter((m) => allowed.includes(m));
    return listed.length > 0 ? listed : allowed;
  };
  const maxTokens = Math.max(1, Math.min(s.maxLossTokens, MAX_LOSS_TOKENS));
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
        weighting: fc.constantFrom(...weightings),
        model: fc.nat(),
        lengthPattern: fc.array(fc.integer({ min: 1, max: maxTokens }), {
          minLength: 1,
          maxLength: 6,
        }),
        emptyEvery: fc.option(fc.integer({ min: 2, max: 6 }), { nil: null }),
        dataSeed: fc.integer({ min: 0, max: 9999 }),
      })
      .map(
        ({
          fullWindows,
          tailMicroBatches,
          remainder,
          rankRemainder,
          model,
          lengthPattern,
          emptyEvery,
          ...rest
        }) => {
          const { batchSize: b, accumulation: k, worldSize: w } = rest;
          const perRank = (fullWindows * k + (tailMicroBatches % k)) * b + (remainder % b);
          const datasetSize = perRank * w + (rankRemainder % w);
          const models = modelsFor(rest.weighting);
          const lengths = Array.from({ length: Math.max(datasetSize, 1) }, (_, i) =>
            emptyEvery !== null && (i + 1) % emptyEvery === 0
              ? 0
              : (lengthPattern[i % lengthPattern.length] ?? 1),
          );
          return {
            ...rest,
            model: models[model % models.length] as Scenario["model"],
            ...(rest.weighting === "tokens" ? { lengths } : {}),
            datasetSize,
          };
        },
      )
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
  weighting: Scenario["weighting"] = "samples",
): Scenario[] {
  const allowed: ReadonlyArray<Scenario["model"]> = MODELS_BY_WEIGHTING[weighting];
  const common = {
    model: allowed.includes(model) ? model : "fingerprint",
    precision,
    worldSize,
    weighting,
  };
  return [
    parseScenario({ datasetSize: 110, batchSize: 8, accumulation: 4, epochs: 2, ...common }),
    parseScenario({ datasetSize: 1000, batchSize: 128, accumulation: 4, ...common }),
  ];
}
