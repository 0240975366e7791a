import type { Scenario } from "../trainers/contract/scenario.js";

/**
 * Scenario fields that every generated scenario keeps at the given value (`audit --batch-size 16
 * --drop-last`); the fields left out are drawn from the space and shrink as usual.
 */
export type ScenarioPins = Partial<Scenario>;

/** The bounds of a search space that a pinned dataset size must respect (see ScenarioSpace). */
export interface SizeLimits {
  maxDatasetSize: number;
  maxBatchSize: number;
  minWorldSize: number;
  maxWorldSize: number;
}

/** The structure fields of a generated scenario that its dataset size is built from. */
export interface Shape {
  batchSize: number;
  accumulation: number;
  worldSize: number;
  fullWindows: number;
  tailMicroBatches: number;
  remainder: number;
  rankRemainder: number;
}

/**
 * Micro-batches every rank holds at least: one under a pinned drop_last (else it would drop
 * every sample), and enough for a pinned list of L loss-token counts (the schema asks N >= L).
 */
function leastMicroBatches(pins: ScenarioPins, perMicroBatch: number): number {
  const counts = Array.isArray(pins.lengths) ? pins.lengths.length : 0;
  return Math.max(pins.dropLast ? 1 : 0, counts > 1 ? Math.ceil(counts / perMicroBatch) : 0);
}

/**
 * The fewest samples the pins other than the dataset size allow: under a pinned drop_last one
 * micro-batch of every rank, and a pinned list of L loss-token counts needs L samples, at the
 * pinned (else the smallest) micro-batch size and world size. A pinned dataset size must hold at
 * least this; otherwise `maxDatasetSize` must, where every rank holds whole micro-batches
 * (leastMicroBatches).
 */
export function leastDatasetSize(pins: ScenarioPins, minWorldSize = 1): number {
  const perMicroBatch = (pins.batchSize ?? 1) * (pins.worldSize ?? minWorldSize);
  if (pins.datasetSize !== undefined)
    return Math.max(
      1,
      pins.dropLast ? perMicroBatch : 0,
      Array.isArray(pins.lengths) ? pins.lengths.length : 0,
    );
  return Math.max(1, leastMicroBatches(pins, perMicroBatch) * perMicroBatch);
}

/**
 * The `index`-th (modulo their count) of the whole numbers from `low` to `high` that `fits`, so
 * that an index shrinking to 0 gives the smallest that fits; `low` when none does.
 */
function nthFitting(index: number, low: number, high: number, fits: (n: number) => boolean) {
  const fitting: number[] = [];
  for (let n = low; n <= high; n++) if (fits(n)) fitting.push(n);
  return fitting.length === 0 ? low : (fitting[index % fitting.length] as number);
}

/**
 * The dataset size (and the world and micro-batch sizes it allows) built from a shape under pins
 * on the dataset size, micro-batch size, accumulation, drop_last or a list of loss-token counts.
 * Every part is reduced into what the bound leaves (modulo, never clamped or filtered), so that
 * every draw is a scenario and a shrinking part still heads for the simplest: with N pinned,
 * the ranks and the micro-batch size are drawn among those N allows; otherwise each rank holds
 * the least micro-batches the pins ask, then full windows, tail micro-batches, a remainder and
 * the ranks' remainder, each within what the bound still holds.
 */
export function pinnedSize(
  raw: Shape,
  pins: ScenarioPins,
  limits: SizeLimits,
): { datasetSize: number; batchSize: number; worldSize: number } {
  const pinnedN = pins.datasetSize;
  const fits = (b: number, w: number) => {
    if (pinnedN !== undefined) return !pins.dropLast || b * w <= pinnedN;
    return leastMicroBatches(pins, b * w) * b * w <= limits.maxDatasetSize;
  };
  const w =
    pins.worldSize ??
    nthFitting(raw.worldSize - limits.minWorldSize, limits.minWorldSize, limits.maxWorldSize, (n) =>
      fits(pins.batchSize ?? 1, n),
    );
  const b =
    pins.batchSize ?? nthFitting(raw.batchSize - 1, 1, limits.maxBatchSize, (n) => fits(n, w));
  if (pinnedN !== undefined) return { datasetSize: pinnedN, batchSize: b, worldSize: w };
  const k = raw.accumulation;
  const least = leastMicroBatches(pins, b * w);
  let budget = limits.maxDatasetSize - least * b * w;
  const fullWindows = raw.fullWindows % (Math.floor(budget / (k * b * w)) + 1);
  budget -= fullWindows * k * b * w;
  const tail = raw.tailMicroBatches % Math.min(k, Math.floor(budget / (b * w)) + 1);
  budget -= tail * b * w;
  const remainder = raw.remainder % Math.min(b, Math.floor(budget / w) + 1);
  budget -= remainder * w;
  const rankRemainder = raw.rankRemainder % Math.min(w, budget + 1);
  const perRank = (least + fullWindows * k + tail) * b + remainder;
  return { datasetSize: perRank * w + rankRemainder, batchSize: b, worldSize: w };
}
/** Whether pins reach the dataset size's structure, so that it is built by {@link pinnedSize}. */
export function pinsShape(pins: ScenarioPins): boolean {
  return (
    pins.datasetSize !== undefined ||
    pins.batchSize !== undefined ||
    pins.accumulation !== undefined ||
    pins.dropLast !== undefined ||
    Array.isArray(pins.lengths)
  );
}
