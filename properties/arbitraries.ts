import fc from "fast-check";
import {
  MAX_FINGERPRINT_PARAMETERS,
  MAX_LOSS_TOKENS,
  MODELS_BY_WEIGHTING,
  OPTIMIZERS,
  PRECISIONS,
  parseScenario,
  SCHEDULES,
  type Scenario,
  WEIGHTINGS,
} from "../trainers/contract/scenario.js";
import {
  leastDatasetSize,
  pinnedSize,
  pinsShape,
  type ScenarioPins,
  type Shape,
} from "./pinned-size.js";
import { missionCounterexamples } from "./regressions.js";

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
  /**
   * Draw the step semantics too: clipping, a learning-rate schedule with warm-up, an average
   * (EMA), AdamW and, under fp16, an overflowing window. Each shrinks towards off.
   */
  stepSemantics: boolean;
  /**
   * The step-semantics fields the trainer honours, when it says (absent: every one): the others
   * are not drawn, though a pin still sets them.
   */
  stepFields?: readonly string[];
  /**
   * Fields held at a value in every generated scenario. A pinned value may lie beyond the
   * space's bounds (`maxBatchSize`, `maxEpochs`); the dataset sizes drawn stay within
   * `maxDatasetSize`, which must leave room for them (see {@link leastDatasetSize}). The
   * regression scenarios are not pinned by the search: see `pinRegressions`.
   */
  pinned: ScenarioPins;
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
  stepSemantics: false,
  pinned: {},
};

/** Clip norms drawn: one that clips every step of the probe, one that clips some, one that clips none. */
const CLIP_NORMS = [0.05, 0.3, 5] as const;
/** EMA decays drawn. */
const EMA_DECAYS = [0.9, 0.5] as const;

/**
 * The step-semantics fields of a draw: each pinned value, else (when the space draws them) an
 * arbitrary that shrinks towards off, else off.
 */
function stepSemanticsArbitrary(space: ScenarioSpace) {
  const pins = space.pinned;
  const draws = (field: string) =>
    space.stepSemantics && (!space.stepFields || space.stepFields.includes(field));
  const optional = <T>(field: string, values: readonly T[]) =>
    draws(field)
      ? fc.option(fc.constantFrom(...values), { nil: undefined })
      : fc.constant(undefined);
  return fc.record({
    clipNorm: pinnedOr(pins, "clipNorm", optional("clipNorm", CLIP_NORMS)),
    schedule: pinnedOr(
      pins,
      "schedule",
      draws("schedule") ? fc.constantFrom(...SCHEDULES) : fc.constant("constant" as const),
    ),
    warmupSteps: pinnedOr(
      pins,
      "warmupSteps",
      draws("warmupSteps") ? fc.integer({ min: 0, max: 3 }) : fc.constant(0),
    ),
    ema: pinnedOr(pins, "ema", optional("ema", EMA_DECAYS)),
    optimizer: pinnedOr(
      pins,
      "optimizer",
      draws("optimizer") ? fc.constantFrom(...OPTIMIZERS) : fc.constant("sgd" as const),
    ),
    overflowStep: pinnedOr(
      pins,
      "overflowStep",
      draws("overflowStep")
        ? fc.option(fc.integer({ min: 1, max: 4 }), { nil: undefined })
        : fc.constant(undefined),
    ),
  });
}

/** The step-semantics fields the pins hold, for a space that draws none. */
function pinnedStepFields(pins: ScenarioPins): Partial<Scenario> {
  const keys = ["clipNorm", "schedule", "warmupSteps", "ema", "optimizer", "overflowStep"] as const;
  return Object.fromEntries(keys.map((key) => [key, pins[key]])) as Partial<Scenario>;
}

/** The step-semantics fields that are set, without those off (an overflow only under fp16). */
function setStepFields(
  fields: Partial<Scenario>,
  precision: Scenario["precision"],
): Partial<Scenario> {
  const set = Object.entries(fields).filter(([key, value]) => {
    if (value === undefined) return false;
    return key !== "overflowStep" || precision === "fp16";
  });
  return Object.fromEntries(set) as Partial<Scenario>;
}

/**
 * The dataset-size bound of a space with these pins when none is given: {@link DEFAULT_SPACE}'s,
 * raised to a pinned dataset size, to {@link leastDatasetSize} and to two full windows of the
 * pinned micro-batch size, accumulation and world size (each left unpinned counts 1), so that a
 * pinned B = 128, K = 4 still meets complete and incomplete windows.
 */
export function defaultMaxDatasetSize(pins: ScenarioPins): number {
  const window = (pins.batchSize ?? 1) * (pins.accumulation ?? 1) * (pins.worldSize ?? 1);
  return Math.max(
    DEFAULT_SPACE.maxDatasetSize,
    pins.datasetSize ?? 0,
    leastDatasetSize(pins),
    pins.batchSize !== undefined || pins.accumulation !== undefined ? 2 * window : 0,
  );
}

/** A pinned field's value, or its arbitrary. */
function pinnedOr<K extends keyof Scenario, T>(
  pins: ScenarioPins,
  key: K,
  arbitrary: fc.Arbitrary<T>,
): fc.Arbitrary<T | NonNullable<Scenario[K]>> {
  const value = pins[key];
  return value === undefined ? arbitrary : fc.constant(value as NonNullable<Scenario[K]>);
}

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
 *
 * Pinned fields ({@link ScenarioSpace.pinned}) are constants of every draw. A pinned model keeps
 * to the weightings that train it, pinned loss-token counts to token weighting. When the pins
 * reach the dataset size (N, B, K, drop_last, a list of loss-token counts), N is built by
 * {@link pinnedSize}, within the bound by construction: a pinned drop_last draws only scenarios
 * where it applies (N >= B * W) instead of turning it off. Without such pins every draw is the
 * same as before pins existed. Throws when the pins leave the bound no scenario.
 */
export function scenarioArbitrary(space: Partial<ScenarioSpace> = {}): fc.Arbitrary<Scenario> {
  const s = { ...DEFAULT_SPACE, ...space };
  const pins = s.pinned;
  const least = leastDatasetSize(pins, s.minWorldSize);
  const most = pins.datasetSize ?? s.maxDatasetSize;
  if (least > most || most > s.maxDatasetSize)
    throw new Error(
      `scenarioArbitrary: expected the pins to allow ${least} to ${s.maxDatasetSize} samples (maxDatasetSize), saw ${pins.datasetSize === undefined ? `at least ${least}` : `datasetSize ${pins.datasetSize}`}`,
    );
  const precisions = pins.precision
    ? [pins.precision]
    : s.precisions.length > 0
      ? s.precisions
      : PRECISIONS;
  const trains = (w: Scenario["weighting"], m: Scenario["model"]) =>
    (MODELS_BY_WEIGHTING[w] as ReadonlyArray<Scenario["model"]>).includes(m);
  const weightings = (
    pins.weighting ? [pins.weighting] : s.weightings.length > 0 ? s.weightings : WEIGHTINGS
  ).filter(
    (w) =>
      (pins.model === undefined || trains(w, pins.model)) &&
      (pins.lengths === undefined || w === "tokens"),
  );
  if (weightings.length === 0)
    throw new Error(
      `scenarioArbitrary: expected a weighting that trains the pinned model and loss-token counts, saw none in ${s.weightings.join(", ")}`,
    );
  const listedModels = pins.model ? [pins.model] : s.models;
  const modelsFor = (weighting: Scenario["weighting"]): ReadonlyArray<Scenario["model"]> => {
    const allowed: ReadonlyArray<Scenario["model"]> = MODELS_BY_WEIGHTING[weighting];
    const listed = listedModels.filter((m) => allowed.includes(m));
    return listed.length > 0 ? listed : allowed;
  };
  const maxTokens = Math.max(1, Math.min(s.maxLossTokens, MAX_LOSS_TOKENS));
  const shaped = pinsShape(pins);
  const structure = pins.datasetSize === undefined;
  // N x E stays within the schema's fingerprint budget, also for a large pinned N.
  const maxEpochs = Math.max(
    1,
    Math.min(s.maxEpochs, Math.floor(MAX_FINGERPRINT_PARAMETERS / s.maxDatasetSize)),
  );
  const maxBatch = pins.batchSize ?? s.maxBatchSize;
  const maxK = pins.accumulation ?? s.maxAccumulation;
  const pinnedLengths = pins.lengths !== undefined;
  // Only a space that draws step semantics adds draws: one without keeps every seed's scenarios.
  const fields = fc.record({
    batchSize: pinnedOr(pins, "batchSize", fc.integer({ min: 1, max: s.maxBatchSize })),
    accumulation: pinnedOr(pins, "accumulation", fc.integer({ min: 1, max: s.maxAccumulation })),
    fullWindows: structure ? fc.integer({ min: 0, max: 8 }) : fc.constant(0),
    tailMicroBatches: structure ? fc.integer({ min: 0, max: maxK }) : fc.constant(0),
    remainder: structure ? fc.integer({ min: 0, max: maxBatch }) : fc.constant(0),
    worldSize: pinnedOr(
      pins,
      "worldSize",
      fc.integer({ min: s.minWorldSize, max: Math.max(s.minWorldSize, s.maxWorldSize) }),
    ),
    rankRemainder: structure
      ? fc.integer({ min: 0, max: Math.max(0, s.maxWorldSize - 1) })
      : fc.constant(0),
    dropLast: pinnedOr(pins, "dropLast", fc.boolean()),
    shuffle: pinnedOr(
      pins,
      "shuffle",
      s.shuffle
        ? fc.option(fc.integer({ min: 0, max: 9999 }), { nil: false as const })
        : fc.constant(false as const),
    ),
    epochs: pinnedOr(pins, "epochs", fc.integer({ min: 1, max: maxEpochs })),
    precision: fc.constantFrom(...precisions),
    weighting: fc.constantFrom(...weightings),
    model: fc.nat(),
    lengthPattern: pinnedLengths
      ? fc.constant([1])
      : fc.array(fc.integer({ min: 1, max: maxTokens }), { minLength: 1, maxLength: 6 }),
    emptyEvery: pinnedLengths
      ? fc.constant(null)
      : fc.option(fc.integer({ min: 2, max: 6 }), { nil: null }),
    dataSeed: pinnedOr(pins, "dataSeed", fc.integer({ min: 0, max: 9999 })),
  });
  type Structure = typeof fields extends fc.Arbitrary<infer T> ? T : never;
  const drawn: fc.Arbitrary<Structure & { stepFields: Partial<Scenario> }> = s.stepSemantics
    ? fc
        .tuple(fields, stepSemanticsArbitrary(s))
        .map(([base, stepFields]) => ({ ...base, stepFields: stepFields as Partial<Scenario> }))
    : fields.map((base) => ({ ...base, stepFields: pinnedStepFields(pins) }));
  return (
    drawn
      .map(
        ({
          fullWindows,
          tailMicroBatches,
          remainder,
          rankRemainder,
          model,
          lengthPattern,
          emptyEvery,
          stepFields,
          ...rest
        }) => {
          const shape = { ...rest, fullWindows, tailMicroBatches, remainder, rankRemainder };
          const {
            batchSize: b,
            worldSize: w,
            datasetSize,
          } = shaped ? pinnedSize(shape, pins, s) : { ...rest, datasetSize: structuredSize(shape) };
          const models = modelsFor(rest.weighting);
          const lengths =
            pins.lengths ??
            Array.from({ length: Math.max(datasetSize, 1) }, (_, i) =>
              emptyEvery !== null && (i + 1) % emptyEvery === 0
                ? 0
                : (lengthPattern[i % lengthPattern.length] ?? 1),
            );
          return {
            ...rest,
            batchSize: b,
            worldSize: w,
            model: models[model % models.length] as Scenario["model"],
            ...(rest.weighting === "tokens" ? { lengths } : {}),
            ...(pins.learningRate === undefined ? {} : { learningRate: pins.learningRate }),
            ...setStepFields(stepFields, rest.precision),
            datasetSize,
          };
        },
      )
      // Out-of-range sizes are rejected rather than clamped: a clamped size would not move when
      // the fields shrink, and shrinking would stall at the clamp. (A size built under pins is
      // within range by construction; only N = 0 is rejected there.)
      .filter(({ datasetSize }) => datasetSize >= 1 && datasetSize <= s.maxDatasetSize)
      .map((input) =>
        // drop_last with fewer than B samples on a rank leaves it an empty epoch: nothing to
        // audit, and some frameworks refuse it. A pinned drop_last is only drawn where it applies.
        parseScenario({
          ...input,
          dropLast:
            input.dropLast &&
            (pins.dropLast !== undefined || input.datasetSize >= input.batchSize * input.worldSize),
        }),
      )
  );
}

/** N from the unpinned structure: (fullWindows * K + tail % K) * B + remainder % B per rank. */
function structuredSize(raw: Shape): number {
  const { batchSize: b, accumulation: k, worldSize: w } = raw;
  const perRank = (raw.fullWindows * k + (raw.tailMicroBatches % k)) * b + (raw.remainder % b);
  return perRank * w + (raw.rankRemainder % w);
}

/**
 * The mission's scenarios, checked beside every search: 110/8/4 over 2 epochs (the documentation
 * loop's lost tail) and 1000/128/4 (the two-loop's over-weighted last micro-batch). With what
 * each exercises: {@link missionCounterexamples}.
 */
export function missionScenarios(
  model: Scenario["model"] = "fingerprint",
  precision: Scenario["precision"] = "fp32",
  worldSize = 1,
  weighting: Scenario["weighting"] = "samples",
): Scenario[] {
  return missionCounterexamples(model, precision, worldSize, weighting).map((c) => c.scenario);
}
