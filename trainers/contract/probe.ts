import { uniformFloat64 } from "pure-rand/distribution/uniformFloat64";
import { xoroshiro128plus } from "pure-rand/generator/xoroshiro128plus";
import { DEFAULT_LENGTHS, type Scenario } from "./scenario.js";

/** Input features per sample. */
export const FEATURES = 3;
/** Hidden units of the MLP body. */
export const HIDDEN = 4;
/**
 * c in the fingerprint loss term c * phi[e][i]. The applied gradient of phi[e][i] divided by c
 * is the weight the step gave sample i's epoch-e occurrence.
 */
export const FINGERPRINT_COEFFICIENT = 1;
/** Token ids of the causal-lm body run from 0 to VOCABULARY - 1. */
export const VOCABULARY = 6;
/** Width of the causal-lm body's token embedding. */
export const EMBEDDING = 3;
/** The label of a position that is not a loss token (PyTorch's cross-entropy `ignore_index`). */
export const IGNORE_INDEX = -100;
/** Most masked prompt positions a token sequence starts with (beside position 0). */
export const MAX_PROMPT_TOKENS = 2;

/**
 * The token sequences of a token-weighted scenario, causal-LM style: position t's logits predict
 * the label at t + 1, and a label of {@link IGNORE_INDEX} is no loss token. Sample i holds
 * 1 + p_i + n_i tokens: its label at position 0 and at its p_i prompt positions is IGNORE_INDEX,
 * the other n_i labels are the next tokens (labels equal the input ids there). n_i is the
 * sample's loss-token count ({@link lossTokenCounts}); counting labels other than IGNORE_INDEX
 * gives n_i whether or not a trainer shifts the labels first.
 */
export interface TokenSequences {
  /** inputIds[i][t]: token ids from 0 to VOCABULARY - 1. */
  inputIds: number[][];
  /** labels[i][t]: the token at t, or IGNORE_INDEX where t is no loss token. */
  labels: number[][];
}

/** The synthetic labelled dataset every trainer of a scenario trains on. */
export interface Dataset {
  /** features[i] has FEATURES entries. */
  features: number[][];
  /** labels[i] is 0 or 1. */
  labels: number[];
  /** Token weighting: each sample's token sequence (the features and labels are then unused). */
  tokens?: TokenSequences;
}

/**
 * Body parameters, flattened in this order (the trace and the protocol use it):
 * - logistic: w[0..2], b
 * - mlp: W1 row-major (HIDDEN x FEATURES), b1 (HIDDEN), w2 (HIDDEN), b2
 * - causal-lm: embedding row-major (VOCABULARY x EMBEDDING), head row-major (EMBEDDING x
 *   VOCABULARY), head bias (VOCABULARY); the logits of a position holding token x are
 *   embedding[x] @ head + bias, and its loss is the cross-entropy of the next label
 * - fingerprint: none
 */
export function bodyParameterCount(model: Scenario["model"]): number {
  switch (model) {
    case "fingerprint":
      return 0;
    case "logistic":
      return FEATURES + 1;
    case "mlp":
      return HIDDEN * FEATURES + HIDDEN + HIDDEN + 1;
    case "causal-lm":
      return 2 * VOCABULARY * EMBEDDING + VOCABULARY;
  }
}

function gaussian(next: () => number): number {
  const u = Math.max(next(), Number.EPSILON);
  const v = next();
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
}

function generator(seed: number, stream: number): () => number {
  const rng = xoroshiro128plus((seed ^ (stream * 0x9e3779b1)) | 0);
  return () => uniformFloat64(rng);
}

/** The scenario fields that decide its dataset. */
export type DatasetFields = Pick<Scenario, "datasetSize" | "dataSeed"> &
  Partial<Pick<Scenario, "weighting" | "lengths">>;

/**
 * Loss tokens of every sample (token weighting): the scenario's list repeated over the samples,
 * or drawn uniformly from its range A-B (default 1-8) with the data seed.
 */
export function lossTokenCounts(s: DatasetFields): number[] {
  const lengths = s.lengths ?? DEFAULT_LENGTHS;
  if (Array.isArray(lengths))
    return Array.from({ length: s.datasetSize }, (_, i) => lengths[i % lengths.length] ?? 0);
  const [low, high] = lengths.split("-").map(Number) as [number, number];
  const next = generator(s.dataSeed, 3);
  return Array.from({ length: s.datasetSize }, () =>
    Math.min(high, low + Math.floor(next() * (high - low + 1))),
  );
}

/**
 * What each sample counts for in a window's full-batch mean: 1 under sample weighting, its loss
 * tokens under token weighting. A sample's expected weight in window W is units_i / (sum of
 * units_j over j in W).
 */
export function lossUnits(s: DatasetFields): number[] {
  return s.weighting === "tokens" ? lossTokenCounts(s) : new Array<number>(s.datasetSize).fill(1);
}

/** The token sequences of a token-weighted scenario (see {@link TokenSequences}). */
export function makeTokenSequences(s: DatasetFields): TokenSequences {
  const counts = lossTokenCounts(s);
  const next = generator(s.dataSeed, 4);
  const draw = (below: number) => Math.min(below - 1, Math.floor(next() * below));
  const inputIds: number[][] = [];
  const labels: number[][] = [];
  for (const n of counts) {
    const prompt = draw(MAX_PROMPT_TOKENS + 1);
    const ids = Array.from({ length: 1 + prompt + n }, () => draw(VOCABULARY));
    inputIds.push(ids);
    labels.push(ids.map((id, t) => (t <= prompt ? IGNORE_INDEX : id)));
  }
  return { inputIds, labels };
}

/** Gaussian features and labels from a fixed logistic teacher with noise, drawn with the data seed. */
function drawFeaturesAndLabels(s: DatasetFields): Pick<Dataset, "features" | "labels"> {
  const next = generator(s.dataSeed, 1);
  const teacher = [1.5, -2, 0.75];
  const features: number[][] = [];
  const labels: number[] = [];
  for (let i = 0; i < s.datasetSize; i++) {
    const x: number[] = [];
    let z = 0.25;
    for (let j = 0; j < FEATURES; j++) {
      const value = gaussian(next);
      x.push(value);
      z += value * (teacher[j] ?? 0);
    }
    const p = 1 / (1 + Math.exp(-z));
    features.push(x);
    labels.push(next() < p ? 1 : 0);
  }
  return { features, labels };
}

/**
 * The scenario's dataset: Gaussian features, labels from a fixed logistic teacher with noise;
 * under token weighting also the token sequences. Features and labels are drawn when first read
 * (the fingerprint model reads neither), the same values whenever that is.
 */
export function makeDataset(s: DatasetFields): Dataset {
  const fields = { datasetSize: s.datasetSize, dataSeed: s.dataSeed };
  let drawn: Pick<Dataset, "features" | "labels"> | undefined;
  const draw = () => {
    drawn ??= drawFeaturesAndLabels(fields);
    return drawn;
  };
  const dataset: Dataset = {
    get features() {
      return draw().features;
    },
    get labels() {
      return draw().labels;
    },
  };
  if (s.weighting === "tokens") dataset.tokens = makeTokenSequences(s);
  return dataset;
}

/** The body's initial parameters (small Gaussian values), flattened as {@link bodyParameterCount} says. */
export function initialBodyParameters(s: Pick<Scenario, "model" | "dataSeed">): number[] {
  const next = generator(s.dataSeed, 2);
  return Array.from({ length: bodyParameterCount(s.model) }, () => 0.5 * gaussian(next));
}

/** Index of phi[epoch][sample] in the flat fingerprint parameter vector of length epochs x N. */
export function fingerprintIndex(epoch: number, sample: number, datasetSize: number): number {
  return epoch * datasetSize + sample;
}

/**
 * {@link fingerprintIndex} of an occurrence of the scenario (whole numbers, epoch below `epochs`,
 * sample below `datasetSize`), or -1 for anything else (a trace not yet validated may hold it).
 */
export function occurrenceIndex(
  epoch: number,
  sample: number,
  epochs: number,
  datasetSize: number,
): number {
  const inside =
    Number.isInteger(epoch) &&
    Number.isInteger(sample) &&
    epoch >= 0 &&
    epoch < epochs &&
    sample >= 0 &&
    sample < datasetSize;
  return inside ? fingerprintIndex(epoch, sample, datasetSize) : -1;
}
