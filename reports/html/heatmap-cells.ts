import type { CheckJudgement, OccurrenceStatus } from "../../properties/outcome.js";
import { nth } from "../words.js";
import { alignedRanges, binSize } from "./step-bins.js";

/** Limits that keep the heatmap readable and the page small for large N and long runs. */
export interface HeatmapLimits {
  maxStepBins: number;
  maxSampleBins: number;
  maxEpochBins: number;
}

/** How steps, samples and epochs are binned to fit the limits. */
export interface HeatmapGrid {
  /** Trace index ranges of the step columns, epoch-aligned. */
  columns: Array<[number, number]>;
  /** The column of each step (trace index). */
  columnOf: Int32Array;
  /** Steps in the widest column. */
  stepBin: number;
  sampleBin: number;
  sampleBins: number;
  epochBin: number;
}

/** One drawn cell: a bin of steps by a bin of samples. */
export interface Cell {
  x0: number;
  x1: number;
  y0: number;
  y1: number;
  /** weight / expected weight furthest from 1 in the cell (clamped for display). */
  ratio: number;
  occurrences: number;
  marker: "leaked" | "duplicated" | "unexpected" | null;
}

/** One drawn cell of the "Not applied" panel: a bin of epochs by a bin of samples. */
export interface NotAppliedCell {
  e0: number;
  e1: number;
  y0: number;
  y1: number;
  status: "lost" | "dropped";
  occurrences: number;
}

const MARKER_RANK = { unexpected: 3, leaked: 2, duplicated: 1 } as const;

/** How far a weight ratio is from 1, in log space; a zero, negative or NaN ratio is furthest. */
function distanceFromOne(ratio: number): number {
  return ratio > 0 ? Math.abs(Math.log(ratio)) : Number.POSITIVE_INFINITY;
}

/** Bins steps (epoch-aligned), samples and epochs so that each axis fits its limit. */
export function heatmapGrid(d: CheckJudgement, limits: HeatmapLimits): HeatmapGrid {
  const columns = alignedRanges(
    d.steps.map((s) => s.epoch),
    limits.maxStepBins,
  );
  const columnOf = new Int32Array(d.steps.length);
  columns.forEach(([first, last], c) => {
    columnOf.fill(c, first, last + 1);
  });
  const sampleBin = binSize(d.scenario.datasetSize, limits.maxSampleBins);
  return {
    columns,
    columnOf,
    stepBin: Math.max(...columns.map(([first, last]) => last - first + 1)),
    sampleBin,
    sampleBins: Math.ceil(d.scenario.datasetSize / sampleBin),
    epochBin: binSize(d.scenario.epochs, limits.maxEpochBins),
  };
}

/** The marker an applied occurrence carries, if any. */
function occurrenceMarker(
  expected: number,
  weight: number,
  status: OccurrenceStatus | undefined,
): Cell["marker"] {
  if (expected === 0 || !Number.isFinite(weight)) return "unexpected";
  return status === "leaked" || status === "duplicated" ? status : null;
}

/**
 * The cells of the applied weights, in the order first met, each with the ratio furthest from 1
 * among its occurrences and its strongest marker; and the ratio furthest from 1 of all.
 */
export function appliedCells(
  d: CheckJudgement,
  grid: HeatmapGrid,
): { cells: Cell[]; furthest: number } {
  const { byStep, status: occurrenceStatus, expected: expectedWeight } = d.weights;
  const N = d.scenario.datasetSize;
  const { columns, columnOf, sampleBin, sampleBins } = grid;
  const cells = new Map<number, Cell>();
  let furthest = 1;
  byStep.forEach((entries, t) => {
    const column = columnOf[t] ?? 0;
    const [first, last] = columns[column] ?? [t, t];
    for (const { epoch, sample, weight } of entries) {
      const expected = expectedWeight[epoch]?.[sample] ?? 0;
      const ratio = expected > 0 ? weight / expected : Number.POSITIVE_INFINITY;
      const row = Math.floor(sample / sampleBin);
      const key = column * sampleBins + row;
      let cell = cells.get(key);
      if (!cell) {
        cell = {
          x0: nth(first) - 0.5,
          x1: nth(last) + 0.5,
          y0: row * sampleBin,
          y1: Math.min((row + 1) * sampleBin, N),
          ratio: 1,
          occurrences: 0,
          marker: null,
        };
        cells.set(key, cell);
      }
      cell.occurrences++;
      if (distanceFromOne(ratio) > distanceFromOne(cell.ratio)) cell.ratio = ratio;
      if (distanceFromOne(ratio) > distanceFromOne(furthest)) furthest = ratio;
      const marker = occurrenceMarker(expected, weight, occurrenceStatus[epoch]?.[sample]);
      if (marker && (!cell.marker || MARKER_RANK[marker] > MARKER_RANK[cell.marker]))
        cell.marker = marker;
    }
  });
  return { cells: [...cells.values()], furthest };
}

/**
 * The colour domain, symmetric in log space around 1 and wide enough for the largest deviation
 * (at most 4), and the cells with their ratios clamped into it (a ratio that is not a positive
 * finite number drawn at the top).
 */
export function colourDomain(cells: readonly Cell[]): {
  low: number;
  spread: number;
  values: Cell[];
} {
  const finite = cells.map((c) => c.ratio).filter((r) => r > 0 && Number.isFinite(r));
  const spread = Math.min(4, Math.max(1.02, ...finite.map((r) => Math.max(r, 1 / r))));
  const low = 1 / spread;
  const values = cells.map((c) => ({
    ...c,
    ratio: Math.min(
      spread,
      Math.max(low, Number.isFinite(c.ratio) && c.ratio > 0 ? c.ratio : spread),
    ),
  }));
  return { low, spread, values };
}

/** The lost and dropped occurrences, binned by epoch and sample. */
export function notAppliedCells(d: CheckJudgement, grid: HeatmapGrid): NotAppliedCell[] {
  const { datasetSize: N, epochs: E } = d.scenario;
  const { sampleBin, epochBin } = grid;
  const notApplied = new Map<string, NotAppliedCell>();
  d.weights.status.forEach((row, epoch) => {
    row.forEach((status, sample) => {
      if (status !== "lost" && status !== "dropped") return;
      const column = Math.floor(epoch / epochBin);
      const bin = Math.floor(sample / sampleBin);
      const key = `${status}|${column}|${bin}`;
      const cell = notApplied.get(key) ?? {
        e0: nth(column * epochBin) - 0.5,
        e1: Math.min((column + 1) * epochBin, E) + 0.5,
        y0: bin * sampleBin,
        y1: Math.min((bin + 1) * sampleBin, N),
        status,
        occurrences: 0,
      };
      cell.occurrences++;
      notApplied.set(key, cell);
    });
  });
  return [...notApplied.values()];
}
