import type { TopLevelSpec } from "vega-lite";
import type { CheckJudgement } from "../../properties/outcome.js";
import { formatNumber, nth, plural } from "../words.js";
import { CHART_CONFIG } from "./chart-style.js";
import { markerLayers, markerRuns, markerSentence } from "./heatmap-markers.js";
import { rankPanel } from "./rank-panel.js";
import { alignedRanges, binSize, epochStarts } from "./step-bins.js";

/** Limits that keep the heatmap readable and the page small for large N and long runs. */
export interface HeatmapLimits {
  maxStepBins: number;
  maxSampleBins: number;
  maxEpochBins: number;
}

const DEFAULT_LIMITS: HeatmapLimits = { maxStepBins: 120, maxSampleBins: 110, maxEpochBins: 40 };

/** One drawn cell: a bin of steps by a bin of samples. */
interface Cell {
  x0: number;
  x1: number;
  y0: number;
  y1: number;
  /** weight / expected weight furthest from 1 in the cell (clamped for display). */
  ratio: number;
  occurrences: number;
  marker: "leaked" | "duplicated" | "unexpected" | null;
}

interface NotAppliedCell {
  e0: number;
  e1: number;
  y0: number;
  y1: number;
  status: "lost" | "dropped";
  occurrences: number;
}

/** The weight heatmap's spec and a text summary of what it shows. */
export interface HeatmapChart {
  spec: TopLevelSpec;
  summary: string;
  cells: number;
}

const MARKER_RANK = { unexpected: 3, leaked: 2, duplicated: 1 } as const;

/** How far a weight ratio is from 1, in log space; a zero, negative or NaN ratio is furthest. */
function distanceFromOne(ratio: number): number {
  return ratio > 0 ? Math.abs(Math.log(ratio)) : Number.POSITIVE_INFINITY;
}

/**
 * Per-step by per-sample weight heatmap: steps across, samples down, colour = weight divided by
 * the expected weight 1/|W| (n_i/T_W under token weighting; log scale, centred on 1). Occurrences that leaked into a later
 * epoch or were applied twice carry a marker; lost and dropped occurrences are drawn in a
 * "not applied" panel per epoch. Steps, samples and epochs are binned to the given limits; a
 * binned cell shows the ratio furthest from 1 among its occurrences. Null without any step.
 */
export function weightHeatmap(
  d: CheckJudgement,
  limits: HeatmapLimits = DEFAULT_LIMITS,
): HeatmapChart | null {
  if (d.steps.length === 0) return null;
  const { byStep, status: occurrenceStatus, expected: expectedWeight } = d.weights;
  const N = d.scenario.datasetSize;
  const E = d.scenario.epochs;
  const S = d.steps.length;
  const columns = alignedRanges(
    d.steps.map((s) => s.epoch),
    limits.maxStepBins,
  );
  const columnOf = new Int32Array(S);
  columns.forEach(([first, last], c) => {
    columnOf.fill(c, first, last + 1);
  });
  const stepBin = Math.max(...columns.map(([first, last]) => last - first + 1));
  const sampleBin = binSize(N, limits.maxSampleBins);
  const epochBin = binSize(E, limits.maxEpochBins);

  const cells = new Map<number, Cell>();
  const sampleBins = Math.ceil(N / sampleBin);
  let furthest = 1;
  byStep.forEach((entries, t) => {
    const column = columnOf[t] ?? 0;
    const [first, last] = columns[column] ?? [t, t];
    for (const { epoch, sample, weight } of entries) {
      const expected = expectedWeight[epoch]?.[sample] ?? 0;
      const status = occurrenceStatus[epoch]?.[sample];
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
      const marker =
        expected === 0 || !Number.isFinite(weight)
          ? "unexpected"
          : status === "leaked" || status === "duplicated"
            ? status
            : null;
      if (marker && (!cell.marker || MARKER_RANK[marker] > MARKER_RANK[cell.marker]))
        cell.marker = marker;
    }
  });

  // Colour domain: symmetric in log space around 1, wide enough for the largest deviation.
  const finite = [...cells.values()].map((c) => c.ratio).filter((r) => r > 0 && Number.isFinite(r));
  const spread = Math.min(4, Math.max(1.02, ...finite.map((r) => Math.max(r, 1 / r))));
  const low = 1 / spread;
  const values = [...cells.values()].map((c) => ({
    ...c,
    ratio: Math.min(
      spread,
      Math.max(low, Number.isFinite(c.ratio) && c.ratio > 0 ? c.ratio : spread),
    ),
  }));

  const notApplied = new Map<string, NotAppliedCell>();
  occurrenceStatus.forEach((row, epoch) => {
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

  const starts = epochStarts(d.steps);
  const labelEvery = binSize(starts.length, 12);
  const epochMarks = starts
    .filter((_, i) => i % labelEvery === 0)
    .map((s) => ({ step: nth(s.step) - 0.5, label: `epoch ${nth(s.epoch)}` }));
  const skipped = d.steps.flatMap((s) =>
    s.skipped ? [{ x0: nth(s.step) - 0.5, x1: nth(s.step) + 0.5 }] : [],
  );

  const height = Math.max(160, Math.min(440, sampleBins * 4));
  const ySpec = {
    field: "y0",
    type: "quantitative" as const,
    title: sampleBin === 1 ? "sample" : `sample (bins of ${sampleBin})`,
    scale: { domain: [0, N], reverse: true, nice: false, zero: true },
    axis: { tickMinStep: 1, format: ",d" },
  };
  const main = {
    width: 640,
    height,
    title: { text: "Weight given by each step", anchor: "start" as const, fontSize: 13 },
    layer: [
      {
        data: { values: skipped },
        mark: { type: "rect" as const, color: "#e0e0e0" },
        encoding: {
          x: { field: "x0", type: "quantitative" as const },
          x2: { field: "x1" },
        },
      },
      {
        data: { values },
        mark: { type: "rect" as const },
        encoding: {
          x: {
            field: "x0",
            type: "quantitative" as const,
            title: stepBin === 1 ? "optimizer step" : `optimizer step (bins of up to ${stepBin})`,
            scale: { domain: [0.5, S + 0.5], nice: false, zero: false },
            axis: { tickMinStep: 1, format: "d" },
          },
          x2: { field: "x1" },
          y: ySpec,
          y2: { field: "y1" },
          color: {
            field: "ratio",
            type: "quantitative" as const,
            title: ["weight ÷", "expected"],
            scale: {
              type: "log" as const,
              domain: [low, 1, spread],
              range: ["#2166ac", "#d4d4d4", "#b35806"],
              clamp: true,
            },
            legend: {
              format: ".3~f",
              values: [low, 1, spread],
              gradientLength: Math.min(200, height - 40),
            },
          },
        },
      },
      ...markerLayers(
        markerRuns(values.flatMap((c) => (c.marker ? [{ ...c, marker: c.marker }] : []))),
        "marked",
        { leaked: "triangle-right", duplicated: "diamond", unexpected: "cross" },
      ),
      {
        data: { values: epochMarks },
        layer: [
          {
            mark: { type: "rule" as const, color: "#000", strokeDash: [4, 3] },
            encoding: { x: { field: "step", type: "quantitative" as const } },
          },
          {
            mark: {
              type: "text" as const,
              align: "left" as const,
              baseline: "bottom" as const,
              dx: 3,
              dy: -2,
              fontSize: 11,
            },
            encoding: {
              x: { field: "step", type: "quantitative" as const },
              y: { value: 0 },
              text: { field: "label" },
            },
          },
        ],
      },
    ],
  };
  const panels: unknown[] = [main];
  if (notApplied.size > 0)
    panels.push({
      width: Math.min(200, Math.max(60, Math.ceil(E / epochBin) * 24)),
      height,
      title: { text: "Not applied", anchor: "start" as const, fontSize: 13 },
      layer: [
        {
          data: { values: [...notApplied.values()] },
          mark: { type: "rect" as const },
          encoding: {
            x: {
              field: "e0",
              type: "quantitative" as const,
              title: epochBin === 1 ? "epoch" : `epoch (bins of ${epochBin})`,
              scale: { domain: [0.5, E + 0.5], nice: false, zero: false },
              axis: {
                tickMinStep: 1,
                format: "d",
                ...(E <= 12
                  ? { values: Array.from({ length: E }, (_, e) => nth(e)), labelOverlap: false }
                  : {}),
              },
            },
            x2: { field: "e1" },
            y: ySpec,
            y2: { field: "y1" },
            fill: {
              condition: { test: "datum.status === 'lost'", value: "#111111" },
              value: "#a0a0a0",
            },
          },
        },
        ...markerLayers(
          markerRuns(
            [...notApplied.values()].map((c) => ({
              x0: c.e0,
              x1: c.e1,
              y0: c.y0,
              y1: c.y1,
              marker: c.status,
            })),
          ),
          "not applied",
          { lost: "cross", dropped: "circle" },
          { lost: "#111111", dropped: "#a0a0a0" },
        ),
      ],
    });

  const ranks = rankPanel(d, { sampleBin, epochBin, height, ySpec });
  if (ranks) panels.push(ranks.panel);

  const counts = { leaked: 0, lost: 0, duplicated: 0, dropped: 0 };
  for (const row of occurrenceStatus)
    for (const status of row) if (status !== "ok") counts[status]++;
  const binning = [
    stepBin > 1 ? `steps in ${columns.length} epoch-aligned bins of up to ${stepBin}` : "",
    sampleBin > 1 ? `samples in bins of ${sampleBin}` : "",
    epochBin > 1 && notApplied.size > 0 ? `"Not applied" epochs in bins of ${epochBin}` : "",
  ].filter(Boolean);
  const unexpected = values.filter((c) => c.marker === "unexpected").length;
  const summary =
    `Heatmap of the weight ${S === 1 ? "the one step" : `each of ${plural(S, "step")}`} (across) gave ` +
    `${N === 1 ? "the one sample" : `each of ${plural(N, "sample")}`} ` +
    `(down) over ${plural(E, "epoch")}${binning.length > 0 ? `, ${binning.join(", ")}` : ""}. ` +
    `Colour is weight divided by the expected weight ${d.scenario.weighting === "tokens" ? "n_i/T_W (the sample's loss tokens over its window's)" : "1/|W|"} on a log scale from ${formatNumber(low)} ` +
    `(blue, too little) through 1 (grey, correct) to ${formatNumber(spread)} (orange, too much); ` +
    `white means no occurrence; the ratio furthest from 1 is ${formatNumber(furthest)}. ` +
    markerSentence(counts, unexpected) +
    (ranks ? ` ${ranks.summary}` : "");

  const spec = {
    $schema: "https://vega.github.io/schema/vega-lite/v6.json",
    description: summary,
    config: CHART_CONFIG,
    resolve: {
      scale: { color: "independent", shape: "independent" },
      legend: { color: "independent", shape: "independent" },
    },
    hconcat: panels,
    spacing: 24,
  } as unknown as TopLevelSpec;
  return { spec, summary, cells: values.length };
}
