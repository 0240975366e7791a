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
  /**
   * microBatchSize[e][i]: samples in the micro-batch that fed sample i in epoch e; 0 for none.
   * This and the next two are worked out when first read.
   */
  microBatchSize: number[][];
  /** microBatchUnits[e][i]: loss units (samples or loss tokens) of that micro-batch; 0 for none. */
  microBatchUnits: number[][];
  /** windowMicroBatches[e][i]: micro-batches of that micro-batch's rank in its window; 0 for none. */
  windowMicroBatches: number[][];
  /** rankWindowUnits[e][i]: loss units of that rank's micro-batches in the window; 0 for none. */
  rankWindowUnits: number[][];
}

/**
 * The oracle's expectation for a trace of the scenario, by epochs. A run that draws with
 * replacement (`sampling: "replacement"`) has no epochs: `planDraws` (draw-plan.ts) plans it.
 */
export function expectRun(scenario: Scenario, trace: Trace): Expectation {
  const plans = planEpochs(scenario, trace);
  const units = lossUnits(scenario);
  const n = scenario.datasetSize;
  const windowOf: Array<Array<ExpectedWindow | null>> = [];
  const expectedWeight: number[][] = [];
  for (const plan of plans) {
    const byWindow: Array<ExpectedWindow | null> = new Array(n).fill(null);
    const weights: number[] = new Array(n).fill(0);
    for (const window of plan.windows)
      for (const s of window.samples) {
        if (byWindow[s] !== null && byWindow[s] !== undefined) continue;
        byWindow[s] = window;
        if (Number.isInteger(s) && s >= 0 && s < n && window.units > 0)
          weights[s] = (units[s] ?? 0) / window.units;
      }
    windowOf.push(byWindow);
    expectedWeight.push(weights);
  }
  const rankOf = plans.map((plan) => {
    const ranks: number[] = new Array(n).fill(-1);
    plan.byRank.forEach((mbs, rank) => {
      for (const mb of mbs) for (const s of mb) if (ranks[s] === -1) ranks[s] = rank;
    });
    return ranks;
  });
  let facts: MicroBatchFacts | undefined;
  const microBatchFacts = () => {
    facts ??= microBatchFactsOf(plans, n, scenario.accumulation, units);
    return facts;
  };
  return {
    units,
    plans,
    windowOf,
    expectedWeight,
    rankOf,
    get microBatchSize() {
      return microBatchFacts().microBatchSize;
    },
    get microBatchUnits() {
      return microBatchFacts().microBatchUnits;
    },
    get windowMicroBatches() {
      return microBatchFacts().windowMicroBatches;
    },
    get rankWindowUnits() {
      return microBatchFacts().rankWindowUnits;
    },
  };
}

type MicroBatchFacts = Pick<
  Expectation,
  "microBatchSize" | "microBatchUnits" | "windowMicroBatches" | "rankWindowUnits"
>;

/**
 * The micro-batch that first fed each sample (the one {@link Expectation.rankOf} names the rank
 * of): its size, its loss units, the micro-batches of its window on its rank and their units. Only an explanation of a
 * failing step reads them, so {@link expectRun} works them out when first read.
 */
function microBatchFactsOf(
  plans: readonly EpochPlan[],
  n: number,
  k: number,
  units: readonly number[],
): MicroBatchFacts {
  const facts: MicroBatchFacts = {
    microBatchSize: [],
    microBatchUnits: [],
    windowMicroBatches: [],
    rankWindowUnits: [],
  };
  const unitsOf = (mb: readonly number[]) => mb.reduce((total, s) => total + (units[s] ?? 0), 0);
  for (const plan of plans) {
    const fed = new Uint8Array(n);
    const sizes: number[] = new Array(n).fill(0);
    const batchUnits: number[] = new Array(n).fill(0);
    const counts: number[] = new Array(n).fill(0);
    const rankUnits: number[] = new Array(n).fill(0);
    for (const mbs of plan.byRank) {
      const mbUnits = mbs.map(unitsOf);
      const windowUnits: number[] = [];
      mbUnits.forEach((u, position) => {
        const w = Math.floor(position / k);
        windowUnits[w] = (windowUnits[w] ?? 0) + u;
      });
      mbs.forEach((mb, position) => {
        const first = position - (position % k);
        const inWindow = Math.min(first + k, mbs.length) - first;
        for (const s of mb)
          if (Number.isInteger(s) && s >= 0 && s < n && fed[s] === 0) {
            fed[s] = 1;
            sizes[s] = mb.length;
            batchUnits[s] = mbUnits[position] ?? 0;
            counts[s] = inWindow;
            rankUnits[s] = windowUnits[Math.floor(position / k)] ?? 0;
          }
      });
    }
    facts.microBatchSize.push(sizes);
    facts.microBatchUnits.push(batchUnits);
    facts.windowMicroBatches.push(counts);
    facts.rankWindowUnits.push(rankUnits);
  }
  return facts;
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
