import {
  DEFAULT_SPACE,
  defaultMaxDatasetSize,
  type ScenarioSpace,
} from "../properties/arbitraries.js";
import { leastDatasetSize, type ScenarioPins } from "../properties/pinned-size.js";
import {
  missionCounterexamples,
  type PinnedRegressions,
  pinRegressions,
} from "../properties/regressions.js";
import {
  MODELS,
  MODELS_BY_WEIGHTING,
  PRECISIONS,
  type Scenario,
  WEIGHTINGS,
} from "../trainers/contract/scenario.js";
import { scenarioField } from "../trainers/contract/scenario-fields.js";
import { choiceList, type FlagValues, integerFlag } from "./options.js";
import { assertScenarioRules, pinFlags, pinsFromFlags } from "./scenario-flags.js";
import { UsageError } from "./usage-error.js";

/** Scenario fields `audit` takes as a list to draw from when given more than once. */
export const LIST_FIELDS: ReadonlySet<"precision" | "model" | "weighting"> = new Set([
  "precision",
  "model",
  "weighting",
] as const);

/** What an audit searches, from its flags. */
export interface SearchSpace {
  /** The space every trainer's search draws from, the pins in it. */
  space: Partial<ScenarioSpace> & { pinned: ScenarioPins };
  /** The known counterexamples to check under the pins, and those left out. */
  regressions: PinnedRegressions;
  /** The flags that shape the search (pins, lists, bounds): a search replay repeats them. */
  flags: string[];
}

/** A list flag given more than once: its choices; once or never: undefined (once is a pin). */
function listFlag<T extends string>(
  values: FlagValues,
  name: string,
  choices: readonly T[],
): T[] | undefined {
  const raw = values[name];
  return Array.isArray(raw) && raw.length > 1 ? choiceList(values, name, choices) : undefined;
}

/** A model that no weighting drawn trains (causal-lm under sample weighting) is a usage error. */
function assertModelsFitWeightings(
  models: ReadonlyArray<Scenario["model"]>,
  weightings: ReadonlyArray<Scenario["weighting"]>,
): void {
  const trains = (w: Scenario["weighting"], m: Scenario["model"]) =>
    (MODELS_BY_WEIGHTING[w] as ReadonlyArray<Scenario["model"]>).includes(m);
  for (const model of models) {
    if (weightings.some((w) => trains(w, model))) continue;
    const needs = WEIGHTINGS.filter((w) => trains(w, model));
    throw new UsageError(
      `--model ${model}: expected a model that ${weightings.join(" or ")} weighting trains (${weightings.flatMap((w) => MODELS_BY_WEIGHTING[w]).join(", ")}); add --weighting ${needs.join(" or ")}`,
    );
  }
}

/** The flags among these pins that make them need `least` samples. */
function flagsNeeding(pins: ScenarioPins): string {
  const keys = (["dropLast", "lengths", "batchSize", "worldSize"] as const).filter(
    (key) => pins[key] !== undefined,
  );
  return keys.map((key) => scenarioField(key).flag).join(", ");
}

/**
 * The dataset-size and epoch bounds under the pins: a given bound that a pin contradicts is a
 * usage error naming both flags; a bound not given is the default, raised where the pins need it.
 */
function boundsFor(values: FlagValues, pins: ScenarioPins, minWorldSize: number) {
  const maxDatasetSize = integerFlag(values, "max-dataset-size", 1, 1_000_000);
  const maxEpochs = integerFlag(values, "max-epochs", 1, 1000);
  const flag = (key: keyof Scenario) => scenarioField(key).flag;
  const least = leastDatasetSize(pins, minWorldSize);
  if (pins.datasetSize !== undefined) {
    if (maxDatasetSize !== undefined && pins.datasetSize > maxDatasetSize)
      throw new UsageError(
        `${flag("datasetSize")}: expected at most --max-dataset-size ${maxDatasetSize}, saw ${pins.datasetSize}`,
      );
    if (pins.datasetSize < least)
      throw new UsageError(
        `${flag("datasetSize")}: expected at least ${least} (what ${flagsNeeding(pins)} need), saw ${pins.datasetSize}`,
      );
  } else if (maxDatasetSize !== undefined && maxDatasetSize < least)
    throw new UsageError(
      `--max-dataset-size: expected at least ${least} (what ${flagsNeeding(pins)} need), saw ${maxDatasetSize}`,
    );
  if (pins.epochs !== undefined && maxEpochs !== undefined && pins.epochs > maxEpochs)
    throw new UsageError(
      `${flag("epochs")}: expected at most --max-epochs ${maxEpochs}, saw ${pins.epochs}`,
    );
  return {
    maxDatasetSize: maxDatasetSize ?? defaultMaxDatasetSize(pins),
    maxEpochs: maxEpochs ?? DEFAULT_SPACE.maxEpochs,
    flags: [
      ...(maxDatasetSize === undefined ? [] : ["--max-dataset-size", String(maxDatasetSize)]),
      ...(maxEpochs === undefined ? [] : ["--max-epochs", String(maxEpochs)]),
    ],
  };
}

/**
 * The search draws runs over epochs only: replacement sampling (and its steps) is a usage error
 * that names the command that checks such a loop.
 */
function assertEpochSampling(values: FlagValues): void {
  const sampling = scenarioField("sampling").flag;
  const steps = scenarioField("steps").flag;
  const given = [values.sampling].flat().filter((v) => v !== undefined && v !== "epochs");
  const check = `check a loop that draws with replacement with \`accumaudit check ${sampling} replacement ${steps} S\``;
  if (given.length > 0)
    throw new UsageError(
      `${sampling}: expected epochs (audit searches runs over epochs), saw ${given.join(", ")}; ${check}`,
    );
  if (values.steps !== undefined)
    throw new UsageError(`${steps}: expected none (audit searches runs over epochs); ${check}`);
}

/**
 * The search an audit's flags ask for. Every scenario flag of `check` pins its field; --precision,
 * --model and --weighting given more than once are lists to draw from. Bad values are the usage
 * errors `check` gives; a pin that contradicts a bound, or a model or loss-token counts that no
 * weighting drawn takes, is a usage error naming both flags.
 */
export function searchSpaceFromFlags(values: FlagValues): SearchSpace {
  assertEpochSampling(values);
  const pins = pinsFromFlags(values, LIST_FIELDS);
  const lists = {
    precisions: listFlag(values, "precision", PRECISIONS),
    models: listFlag(values, "model", MODELS),
    weightings: listFlag(values, "weighting", WEIGHTINGS),
  };
  const weightings = pins.weighting
    ? [pins.weighting]
    : (lists.weightings ?? DEFAULT_SPACE.weightings);
  assertModelsFitWeightings(pins.model ? [pins.model] : (lists.models ?? []), weightings);
  // Loss-token counts under a weighting drawn that is not tokens: the error `check` gives.
  const notTokens = weightings.find((w) => w !== "tokens");
  if (pins.lengths !== undefined && notTokens)
    assertScenarioRules({
      datasetSize: Array.isArray(pins.lengths) ? pins.lengths.length : 1,
      batchSize: 1,
      accumulation: 1,
      lengths: pins.lengths,
      weighting: notTokens,
    });
  const minWorldSize = pins.worldSize ?? DEFAULT_SPACE.minWorldSize;
  const bounds = boundsFor(values, pins, minWorldSize);
  const space = {
    ...(lists.precisions ? { precisions: lists.precisions } : {}),
    ...(lists.models ? { models: lists.models } : {}),
    ...(lists.weightings ? { weightings: lists.weightings } : {}),
    maxDatasetSize: bounds.maxDatasetSize,
    maxEpochs: bounds.maxEpochs,
    ...(pins.worldSize === undefined
      ? {}
      : { minWorldSize: pins.worldSize, maxWorldSize: pins.worldSize }),
    ...(values["step-semantics"] === true ? { stepSemantics: true } : {}),
    pinned: pins,
  };
  const model = pins.model ?? lists.models?.[0];
  const trainsModel = (w: Scenario["weighting"]) =>
    model === undefined ||
    (MODELS_BY_WEIGHTING[w] as ReadonlyArray<Scenario["model"]>).includes(model);
  const known = missionCounterexamples(
    model,
    pins.precision ?? lists.precisions?.[0],
    pins.worldSize,
    weightings.find(trainsModel) ?? weightings[0],
  );
  const listFlags = Object.entries({
    precision: lists.precisions,
    model: lists.models,
    weighting: lists.weightings,
  }).flatMap(([name, list]) => (list ?? []).flatMap((item) => [`--${name}`, item]));
  return {
    space,
    regressions: pinRegressions(known, pins),
    flags: [
      ...pinFlags(pins),
      ...listFlags,
      ...bounds.flags,
      ...(values["step-semantics"] === true ? ["--step-semantics"] : []),
    ],
  };
}
