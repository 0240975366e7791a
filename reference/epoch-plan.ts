import { lossUnits } from "../trainers/contract/probe.js";
import type { Scenario } from "../trainers/contract/scenario.js";
import type { Trace } from "../trainers/contract/trace.js";

/**
 * A run of consecutive micro-batches whose gradients one correct optimizer step sums: K
 * micro-batches of every rank (the same positions on each), the epoch's last window holding
 * what is left on every rank.
 */
export interface ExpectedWindow {
  epoch: number;
  /** 0-based position of the window in its epoch. */
  index: number;
  /** First and last micro-batch positions in the epoch (on each rank). */
  microBatches: [number, number];
  /** The window's distinct sample ids over every rank, in rank and loader order. */
  samples: number[];
  /** Sample ids that more than one of the window's micro-batches hold (a padded shard). */
  repeated: number[];
  /**
   * The window's loss units: its distinct samples under sample weighting, their loss tokens under
   * token weighting (counted over every rank: the global token count).
   */
  units: number;
  /**
   * Micro-batch positions of the window that no loader produced (the run stopped before them):
   * the scenario implies them, and the samples never produced fill them in index order.
   */
  unproduced: number;
}

/** Where an epoch's sample order came from. */
export type OrderSource = "observed" | "index-order" | "applied-steps";

/** What a correct trainer does in one epoch, given the order each rank's loader produced. */
export interface EpochPlan {
  epoch: number;
  source: OrderSource;
  /**
   * Micro-batches of the epoch per rank that the loaders produced, in loader order (sample ids):
   * `byRank[r][position]`.
   */
  byRank: number[][][];
  /**
   * Micro-batch positions per rank the epoch has: the scenario's count (N, B, W and drop_last),
   * or the loaders' when they produced more. The windows cover them all.
   */
  microBatches: number;
  /** Positions the longest rank's loader produced; fewer than {@link microBatches} when the run stopped early. */
  produced: number;
  windows: ExpectedWindow[];
  /** Samples drop_last leaves out of this epoch on purpose. */
  dropped: number[];
  /** Samples the loaders never produced in this epoch although they were not dropped on purpose. */
  unseen: number[];
  /**
   * Samples without loss tokens (token weighting) that no loader produced: they are due weight 0,
   * so a loop that leaves them out (as TRL's SFTTrainer does) loses nothing.
   */
  emptyNotFed: number[];
}

/**
 * How many times each sample occurs in the micro-batches being counted, and their distinct
 * samples in first-seen order: a count per sample id from 0 to N - 1, a map for any other id.
 */
class SampleTally {
  private readonly counts: Int32Array;
  private readonly others = new Map<number, number>();
  private distinct: number[] = [];

  constructor(datasetSize: number) {
    this.counts = new Int32Array(datasetSize);
  }

  add(sample: number): void {
    if (Number.isInteger(sample) && sample >= 0 && sample < this.counts.length) {
      const count = this.counts[sample] as number;
      this.counts[sample] = count + 1;
      if (count === 0) this.distinct.push(sample === 0 ? 0 : sample); // -0 listed as 0, as a Map key is
    } else {
      const count = this.others.get(sample) ?? 0;
      if (count === 0) this.distinct.push(sample);
      this.others.set(sample, count + 1);
    }
  }

  times(sample: number): number {
    const inside = Number.isInteger(sample) && sample >= 0 && sample < this.counts.length;
    return inside ? (this.counts[sample] as number) : (this.others.get(sample) ?? 0);
  }

  /**
   * The distinct samples counted so far, in first-seen order, with those counted more than once;
   * clears every count for the next micro-batches.
   */
  take(): { distinct: number[]; repeated: number[] } {
    const { distinct } = this;
    const repeated: number[] = [];
    for (const s of distinct) {
      if (this.times(s) > 1) repeated.push(s);
      if (Number.isInteger(s) && s >= 0 && s < this.counts.length) this.counts[s] = 0;
    }
    this.others.clear();
    this.distinct = [];
    return { distinct, repeated };
  }
}

function groupIntoWindows(
  epoch: number,
  byRank: number[][][],
  k: number,
  units: readonly number[],
  produced: number,
): ExpectedWindow[] {
  const longest = Math.max(0, ...byRank.map((mbs) => mbs.length));
  const windows: ExpectedWindow[] = [];
  const tally = new SampleTally(units.length);
  for (let first = 0; first < longest; first += k) {
    const last = Math.min(first + k, longest) - 1;
    for (const mbs of byRank)
      for (let position = first; position <= last && position < mbs.length; position++)
        for (const s of mbs[position] as number[]) tally.add(s);
    const { distinct, repeated } = tally.take();
    let windowUnits = 0;
    for (const s of distinct) windowUnits += units[s] ?? 0;
    windows.push({
      epoch,
      index: windows.length,
      microBatches: [first, last],
      samples: distinct,
      repeated,
      units: windowUnits,
      unproduced: Math.max(0, last + 1 - Math.max(first, produced)),
    });
  }
  return windows;
}

function chunk(order: number[], size: number): number[][] {
  const out: number[][] = [];
  for (let start = 0; start < order.length; start += size)
    out.push(order.slice(start, start + size));
  return out;
}

/**
 * Micro-batches each rank's probe saw in an epoch; a rank's repeat of the same samples (a
 * redone window) counts once.
 */
function observedMicroBatches(trace: Trace, epoch: number): number[][][] | undefined {
  if (!trace.microBatches) return undefined;
  const byRank: number[][][] = Array.from({ length: trace.scenario.worldSize }, () => []);
  // Earlier micro-batches of each rank by their first sample: a repeat is looked for among those only.
  const byFirstSample = new Map<string, (readonly number[])[]>();
  for (const mb of trace.microBatches) {
    if (mb.epoch !== epoch) continue;
    const rank = mb.rank ?? 0;
    const key = `${rank}:${mb.samples[0]}`;
    const earlier = byFirstSample.get(key);
    if (earlier?.some((samples) => sameSamples(samples, mb.samples))) continue;
    if (earlier) earlier.push(mb.samples);
    else byFirstSample.set(key, [mb.samples]);
    byRank[rank]?.push(mb.samples);
  }
  return byRank;
}

function sameSamples(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((s, i) => s === b[i]);
}

/** Occurrences of an epoch in the order applied steps hold them, for traces without micro-batches. */
function appliedOrder(trace: Trace, epoch: number): number[] {
  const order: number[] = [];
  const seen = new Set<number>();
  for (const step of trace.steps) {
    if (step.skipped) continue;
    const samples = step.fingerprint.samples
      .filter((_, k) => step.fingerprint.epochs[k] === epoch)
      .sort((a, b) => a - b);
    for (const s of samples) if (!seen.has(s)) seen.add(s) && order.push(s);
  }
  return order;
}

/**
 * Whether the samples missing from an epoch are what drop_last leaves out of `kept` samples (the
 * dataset, less the samples without loss tokens a loop left out): less than B per rank.
 */
function droppedOnPurpose(scenario: Scenario, kept: number, missing: number): boolean {
  const { batchSize: b, dropLast, worldSize } = scenario;
  if (!dropLast) return false;
  return worldSize === 1 ? missing === kept % b : missing > 0 && missing <= worldSize * (b - 1);
}

/**
 * The fewest micro-batch positions per rank an epoch of `kept` samples has: each rank holds at
 * least floor(kept / W) of them (a sampler that pads gives some ranks one more), in micro-batches
 * of B, the last incomplete one dropped under drop_last.
 */
function scenarioMicroBatches(scenario: Scenario, kept: number): number {
  const perRank = Math.floor(kept / scenario.worldSize);
  return scenario.dropLast
    ? Math.floor(perRank / scenario.batchSize)
    : Math.ceil(perRank / scenario.batchSize);
}

/**
 * Micro-batches for the positions no loader produced (`from` up to `to`, exclusive): the samples
 * never produced, in index order, B per rank and position. They stand for what the scenario
 * implies so that windows and steps are counted from the scenario, not from the run.
 */
function unproducedMicroBatches(
  scenario: Scenario,
  notProduced: readonly number[],
  from: number,
  to: number,
): { byRank: number[][][]; left: number[] } {
  const { batchSize: b, worldSize: w } = scenario;
  const byRank: number[][][] = Array.from({ length: w }, () => []);
  let next = 0;
  for (let position = from; position < to && next < notProduced.length; position++)
    for (let rank = 0; rank < w && next < notProduced.length; rank++) {
      byRank[rank]?.push(notProduced.slice(next, next + b));
      next += b;
    }
  return { byRank, left: notProduced.slice(next) };
}

function planEpoch(
  scenario: Scenario,
  trace: Trace,
  epoch: number,
  units: readonly number[],
): EpochPlan {
  const { datasetSize: n, batchSize: b, accumulation: k, dropLast } = scenario;
  const observed = observedMicroBatches(trace, epoch);
  let source: OrderSource;
  let byRank: number[][][];
  if (observed) {
    source = "observed";
    byRank = observed;
  } else if (scenario.shuffle === false) {
    source = "index-order";
    const microBatches = chunk(
      Array.from({ length: n }, (_, i) => i),
      b,
    );
    if (dropLast && n % b !== 0) microBatches.pop();
    byRank = [microBatches];
  } else {
    source = "applied-steps";
    byRank = [chunk(appliedOrder(trace, epoch), b)];
  }
  const present = new Uint8Array(n);
  for (const mbs of byRank)
    for (const mb of mbs) for (const s of mb) if (s >= 0 && s < n) present[s] = 1;
  const missing: number[] = [];
  const emptyMissing: number[] = [];
  let empty = 0;
  for (let i = 0; i < n; i++) {
    const hasUnits = (units[i] ?? 0) > 0;
    if (!hasUnits) empty++;
    if (present[i] === 1) continue;
    if (hasUnits) missing.push(i);
    else emptyMissing.push(i);
  }
  // A loop that leaves out the samples without loss tokens leaves out all of them: the epoch then
  // holds the others only, and its micro-batches are counted from them.
  const leavesOutEmpty = empty > 0 && emptyMissing.length === empty;
  const kept = leavesOutEmpty ? n - empty : n;
  const missingOfKept = leavesOutEmpty
    ? missing
    : [...missing, ...emptyMissing].sort((x, y) => x - y);
  const onPurpose = droppedOnPurpose(scenario, kept, missingOfKept.length);
  const produced = Math.max(0, ...byRank.map((mbs) => mbs.length));
  const positions = Math.max(produced, scenarioMicroBatches(scenario, kept));
  const notProduced = onPurpose ? [] : missing;
  const { byRank: filler, left } = unproducedMicroBatches(
    scenario,
    notProduced,
    produced,
    positions,
  );
  // Samples beyond the positions the scenario has are what drop_last leaves out of a run that
  // stopped early: as many as it drops (in index order, the same ones).
  const leftOnPurpose = left.length > 0 && droppedOnPurpose(scenario, kept, left.length);
  const leftOut = new Set(leftOnPurpose ? left : []);
  // Each rank's list reaches the produced positions (empty ones add nothing) before the filler.
  const withFiller = Array.from({ length: Math.max(byRank.length, filler.length) }, (_, rank) => {
    const mbs = byRank[rank] ?? [];
    if (positions === produced) return mbs;
    const gap = Array.from({ length: produced - mbs.length }, () => [] as number[]);
    return [...mbs, ...gap, ...(filler[rank] ?? [])];
  });
  return {
    epoch,
    source,
    byRank,
    microBatches: positions,
    produced,
    windows: groupIntoWindows(epoch, withFiller, k, units, produced),
    dropped: onPurpose ? missingOfKept : [...leftOut],
    unseen: onPurpose ? [] : missing.filter((i) => !leftOut.has(i)),
    emptyNotFed: onPurpose && !leavesOutEmpty ? [] : emptyMissing,
  };
}

/**
 * What a correct trainer does in each epoch: each rank's micro-batches (as the probe observed
 * them, or index order when nothing was observed and there is no shuffle), grouped K positions
 * at a time into windows that span every rank, the epoch's last window holding what is left.
 */
export function planEpochs(scenario: Scenario, trace: Trace): EpochPlan[] {
  const units = lossUnits(scenario);
  return Array.from({ length: scenario.epochs }, (_, epoch) =>
    planEpoch(scenario, trace, epoch, units),
  );
}
