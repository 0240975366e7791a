import type { StepAnalysis } from "../../properties/outcome.js";

/** Consecutive steps drawn as one column or one table row when a run is too long to show each. */
export interface StepBin {
  /** Trace indices of the first and last step in the bin. */
  first: number;
  last: number;
  epochFirst: number;
  epochLast: number;
  steps: number;
  skipped: number;
  /** Sample occurrences applied by the bin's steps. */
  samples: number;
  /** Largest weight relative error among the bin's steps. */
  weightRelError: number;
  /** Largest weight spread among the bin's steps. */
  weightSpread: number;
  /** Largest body relative error among the bin's steps; null when none has one. */
  bodyRelError: number | null;
}

/** Number of consecutive items per bin so that `count` items fit in at most `maxBins` bins. */
export function binSize(count: number, maxBins: number): number {
  return Math.max(1, Math.ceil(count / Math.max(1, maxBins)));
}

/**
 * Splits a run of steps (given by their epochs, in order) into at most `maxBins` contiguous
 * index ranges that never straddle an epoch boundary unless whole epochs are grouped: with
 * fewer epochs than bins, each epoch is cut into equal chunks; with more, whole epochs share
 * a bin. Aligned bins keep binned charts free of aliasing stripes at epoch boundaries.
 */
export function alignedRanges(epochs: readonly number[], maxBins: number): Array<[number, number]> {
  const runs: Array<[number, number]> = [];
  epochs.forEach((epoch, i) => {
    const last = runs[runs.length - 1];
    if (last && epochs[last[1]] === epoch) last[1] = i;
    else runs.push([i, i]);
  });
  const bins = Math.max(1, maxBins);
  const ranges: Array<[number, number]> = [];
  if (runs.length > bins) {
    const group = Math.ceil(runs.length / bins);
    for (let r = 0; r < runs.length; r += group) {
      const first = runs[r];
      const last = runs[Math.min(r + group, runs.length) - 1];
      if (first && last) ranges.push([first[0], last[1]]);
    }
    return ranges;
  }
  const chunks = Math.max(1, Math.floor(bins / runs.length));
  for (const [start, end] of runs) {
    const size = Math.ceil((end - start + 1) / chunks);
    for (let i = start; i <= end; i += size) ranges.push([i, Math.min(i + size - 1, end)]);
  }
  return ranges;
}

/** Groups steps into at most `maxBins` epoch-aligned bins, keeping each bin's worst errors. */
export function binSteps(steps: readonly StepAnalysis[], maxBins: number): StepBin[] {
  return alignedRanges(
    steps.map((s) => s.epoch),
    maxBins,
  ).flatMap(([start, end]) => {
    const chunk = steps.slice(start, end + 1);
    const first = chunk[0];
    const last = chunk[chunk.length - 1];
    if (!first || !last) return [];
    const bodies = chunk.flatMap((s) => (s.bodyRelError === null ? [] : [s.bodyRelError]));
    return [
      {
        first: first.step,
        last: last.step,
        epochFirst: first.epoch,
        epochLast: last.epoch,
        steps: chunk.length,
        skipped: chunk.filter((s) => s.skipped).length,
        samples: chunk.reduce((n, s) => n + s.samples, 0),
        weightRelError: Math.max(...chunk.map((s) => s.weightRelError)),
        weightSpread: Math.max(...chunk.map((s) => s.weightSpread)),
        bodyRelError: bodies.length > 0 ? Math.max(...bodies) : null,
      },
    ];
  });
}

/** Largest number of steps in one bin: 1 when nothing was binned. */
export function largestBin(bins: ReadonlyArray<{ steps: number }>): number {
  return Math.max(1, ...bins.map((b) => b.steps));
}

/** The first step index of every epoch that has steps, in order. */
export function epochStarts(
  steps: ReadonlyArray<Pick<StepAnalysis, "epoch" | "step">>,
): Array<{ epoch: number; step: number }> {
  const starts = new Map<number, number>();
  for (const s of steps) if (!starts.has(s.epoch)) starts.set(s.epoch, s.step);
  return [...starts].map(([epoch, step]) => ({ epoch, step }));
}
