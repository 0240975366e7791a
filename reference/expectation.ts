import { lossUnits } from "../trainers/contract/probe.js";
import type { Scenario } from "../trainers/contract/scenario.js";
import type { Trace } from "../trainers/contract/trace.js";
import { type EpochPlan, type ExpectedWindow, planEpochs } from "./epoch-plan.js";

/**
 * What should have happened in a run: the windows and each occurrence's weight, units_i / units(W)
 * (1/|W| under sample weighting, n_i / (loss tokens of W) under token weighting).
 */
export interface Expectation {
  /** units[i]: what sample i counts for in its window's mean (1, or its loss tokens). */
  units: number[];
  plans: EpochPlan[];
  /**
   * windowOf[e][i]: the first window holding sample i in epoch e, or null (dropped or never
   * produced). A padded shard can put a sample in a second window too: see {@link windowHolding}.
   */
  windowOf: Array<Array<ExpectedWindow | null>>;
  /**
   * expectedWeight[e][i] = units_i / units(W) for the window W holding (e, i); 0 without one, and 0
   * for a sample without loss tokens.
   */
  expectedWeight: number[][];
  /** rankOf[e][i]: the first rank whose loader produced sample i in epoch e; -1 for none. */
  rankOf: number[][];
  /** microBatchSize[e][i]: samples in the micro-batch that fed sample i in epoch e; 0 for none. */
  microBatchSize: number[][];
  /** microBatchUnits[e][i]: loss units (samples or loss tokens) of that micro-batch; 0 for none. */
  microBatchUnits: number[][];
  /** windowMicroBatches[e][i]: micro-batches of that micro-batch's rank in its window; 0 for none. */
  windowMicroBatches: number[][];
}

/** The oracle's expectation for a trace of the scenario. */
export function expectRun(scenario: Scenario, trace: Trace): Expectation {
  const plans = planEpochs(scenario, trace);
  const windowOf = plans.map((plan) => {
    const byWindow: Array<ExpectedWindow | null> = new Array(scenario.datasetSize).fill(null);
    for (const window of plan.windows)
      for (const s of window.samples) byWindow[s] = byWindow[s] ?? window;
    return byWindow;
  });
  const units = lossUnits(scenario);
  const expectedWeight = windowOf.map((row) =>
    row.map((w, i) => (w && w.units > 0 ? (units[i] ?? 0) / w.units : 0)),
  );
  const n = scenario.datasetSize;
  const k = scenario.accumulation;
  const rankOf: number[][] = [];
  const microBatchSize: number[][] = [];
  const microBatchUnits: number[][] = [];
  const windowMicroBatches: number[][] = [];
  for (const plan of plans) {
    const ranks: number[] = new Array(n).fill(-1);
    const sizes: number[] = new Array(n).fill(0);
    const batchUnits: number[] = new Array(n).fill(0);
    const counts: number[] = new Array(n).fill(0);
    plan.byRank.forEach((mbs, rank) => {
      mbs.forEach((mb, position) => {
        const first = position - (position % k);
        const inWindow = Math.min(first + k, mbs.length) - first;
        let mbUnits = 0;
        for (const s of mb) mbUnits += units[s] ?? 0;
        for (const s of mb)
          if (ranks[s] === -1) {
            ranks[s] = rank;
            sizes[s] = mb.length;
            batchUnits[s] = mbUnits;
            counts[s] = inWindow;
          }
      });
    });
    rankOf.push(ranks);
    microBatchSize.push(sizes);
    microBatchUnits.push(batchUnits);
    windowMicroBatches.push(counts);
  }
  return {
    units,
    plans,
    windowOf,
    expectedWeight,
    rankOf,
    microBatchSize,
    microBatchUnits,
    windowMicroBatches,
  };
}

const sampleSets = new WeakMap<ExpectedWindow, Set<number>>();

/**
 * The window that holds occurrence (epoch, sample) from a step's point of view: `preferred` (the
 * window the step was matched to) when it holds the sample, else the first window that does.
 */
export function windowHolding(
  expectation: Expectation,
  epoch: number,
  sample: number,
  preferred: ExpectedWindow | null | undefined,
): ExpectedWindow | null {
  const first = expectation.windowOf[epoch]?.[sample] ?? null;
  // The first window holding the sample needs no search; another may hold it too (a padded shard).
  if (preferred && preferred !== first && preferred.epoch === epoch) {
    const set = sampleSets.get(preferred) ?? new Set(preferred.samples);
    sampleSets.set(preferred, set);
    if (set.has(sample)) return preferred;
  }
  return first;
}
