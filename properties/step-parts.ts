import type { ExpectedWindow } from "../reference/epoch-plan.js";
import type { Expectation } from "../reference/expectation.js";
import type { AppliedWeights } from "./applied-weights.js";
import type { EpochOutline, StepPart } from "./outcome.js";
import type { StepWindow } from "./step-windows.js";

/** The epochs' windows as reports and advice read them: positions, sizes, what no loader produced. */
export function outlineEpochs(expectation: Expectation): EpochOutline[] {
  const weighted = (s: number) => (expectation.units[s] ?? 0) > 0;
  return expectation.plans.map((plan) => ({
    epoch: plan.epoch,
    microBatches: plan.microBatches,
    produced: plan.produced,
    windows: plan.windows.map((w) => ({
      index: w.index,
      microBatches: w.microBatches,
      samples: w.samples.filter(weighted).length,
      units: w.units,
      unproduced: w.unproduced,
    })),
  }));
}

/** The position of every sample's first micro-batch in each epoch's plan, -1 for none; built per epoch on first use. */
class Positions {
  private readonly byEpoch = new Map<number, Int32Array>();

  constructor(private readonly expectation: Expectation) {}

  of(epoch: number, sample: number): number {
    let positions = this.byEpoch.get(epoch);
    if (!positions) {
      positions = new Int32Array(this.expectation.units.length).fill(-1);
      for (const mbs of this.expectation.plans[epoch]?.byRank ?? [])
        mbs.forEach((mb, position) => {
          for (const s of mb)
            if (s >= 0 && s < (positions as Int32Array).length && positions?.[s] === -1)
              (positions as Int32Array)[s] = position;
        });
      this.byEpoch.set(epoch, positions);
    }
    return positions[sample] ?? -1;
  }
}

interface PartTally {
  epoch: number;
  window: ExpectedWindow | null;
  samples: number;
  positions: Set<number>;
}

/**
 * What each applied step holds, window by window: for every expected window it took samples from,
 * which micro-batch positions and how many of the window's samples. A passing check's steps are
 * their matched windows whole, so `whole` skips reading the entries.
 */
export function stepParts(
  expectation: Expectation,
  applied: AppliedWeights,
  matches: readonly StepWindow[],
  whole: boolean,
): StepPart[][] {
  const weightedSamples = new Map<ExpectedWindow, number>();
  const sizeOf = (window: ExpectedWindow) => {
    let size = weightedSamples.get(window);
    if (size === undefined) {
      size = window.samples.filter((s) => (expectation.units[s] ?? 0) > 0).length;
      weightedSamples.set(window, size);
    }
    return size;
  };
  if (whole)
    return matches.map(({ window }) =>
      window
        ? [
            {
              epoch: window.epoch,
              window: window.index,
              windowMicroBatches: window.microBatches,
              microBatches: window.microBatches,
              microBatchCount: window.microBatches[1] - window.microBatches[0] + 1,
              samples: sizeOf(window),
              windowSamples: sizeOf(window),
            },
          ]
        : [],
    );
  const positions = new Positions(expectation);
  return applied.byStep.map((entries) => {
    const tallies = new Map<ExpectedWindow | string, PartTally>();
    for (const e of entries) {
      const window = expectation.windowOf[e.epoch]?.[e.sample] ?? null;
      const key = window ?? `outside:${e.epoch}`;
      let tally = tallies.get(key);
      if (!tally) {
        tally = { epoch: e.epoch, window, samples: 0, positions: new Set() };
        tallies.set(key, tally);
      }
      tally.samples++;
      const position = positions.of(e.epoch, e.sample);
      if (position >= 0) tally.positions.add(position);
    }
    return [...tallies.values()]
      .map(({ epoch, window, samples, positions: held }): StepPart => {
        const sorted = [...held].sort((a, b) => a - b);
        const first = sorted[0] ?? -1;
        const last = sorted[sorted.length - 1] ?? -1;
        return {
          epoch,
          window: window?.index ?? null,
          windowMicroBatches: window?.microBatches ?? null,
          microBatches: [first, last],
          microBatchCount: sorted.length,
          samples,
          windowSamples: window ? sizeOf(window) : 0,
        };
      })
      .sort((a, b) => a.epoch - b.epoch || (a.window ?? -1) - (b.window ?? -1));
  });
}
