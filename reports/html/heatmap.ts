import type { TopLevelSpec } from "vega-lite";
import type { CheckJudgement } from "../../properties/outcome.js";
import { formatNumber, nth, plural } from "../words.js";
import { CHART_CONFIG } from "./chart-style.js";
import {
  appliedCells,
  type Cell,
  colourDomain,
  type HeatmapGrid,
  type HeatmapLimits,
  heatmapGrid,
  type NotAppliedCell,
  notAppliedCells,
} from "./heatmap-cells.js";
import { markerLayers, markerRuns, markerSentence } from "./heatmap-markers.js";
import { rankPanel } from "./rank-panel.js";
import { binSize, epochStarts } from "./step-bins.js";

export type { HeatmapLimits } from "./heatmap-cells.js";

const DEFAULT_LIMITS: HeatmapLimits = { maxStepBins: 120, maxSampleBins: 110, maxEpochBins: 40 };

/** The weight heatmap's spec and a text summary of what it shows. */
export interface HeatmapChart {
  spec: TopLevelSpec;
  summary: string;
  cells: number;
}

/** The colour scale of the weight cells and the cells clamped into it. */
interface Colours {
  low: number;
  spread: number;
  values: Cell[];
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
  const grid = heatmapGrid(d, limits);
  const { cells, furthest } = appliedCells(d, grid);
  const colours = colourDomain(cells);
  const notApplied = notAppliedCells(d, grid);

  const height = Math.max(160, Math.min(440, grid.sampleBins * 4));
  const ySpec = sampleAxis(d, grid);
  const panels: unknown[] = [stepsPanel(d, grid, colours, height, ySpec)];
  if (notApplied.length > 0) panels.push(notAppliedPanel(d, grid, notApplied, height, ySpec));
  const ranks = rankPanel(d, { sampleBin: grid.sampleBin, epochBin: grid.epochBin, height, ySpec });
  if (ranks) panels.push(ranks.panel);

  const summary =
    heatmapSummary(d, grid, colours, furthest, notApplied.length > 0) +
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
  return { spec, summary, cells: colours.values.length };
}

/** The sample axis that every panel shares, so their rows line up. */
function sampleAxis(d: CheckJudgement, grid: HeatmapGrid) {
  return {
    field: "y0",
    type: "quantitative" as const,
    title: grid.sampleBin === 1 ? "sample" : `sample (bins of ${grid.sampleBin})`,
    scale: { domain: [0, d.scenario.datasetSize], reverse: true, nice: false, zero: true },
    axis: { tickMinStep: 1, format: ",d" },
  };
}

/** The main panel: steps across, samples down, skipped steps shaded, epoch starts ruled. */
function stepsPanel(
  d: CheckJudgement,
  grid: HeatmapGrid,
  colours: Colours,
  height: number,
  ySpec: ReturnType<typeof sampleAxis>,
) {
  return {
    width: 640,
    height,
    title: { text: "Weight given by each step", anchor: "start" as const, fontSize: 13 },
    layer: [
      skippedStepsLayer(d),
      weightCellsLayer(d, grid, colours, height, ySpec),
      ...markerLayers(
        markerRuns(colours.values.flatMap((c) => (c.marker ? [{ ...c, marker: c.marker }] : []))),
        "marked",
        { leaked: "triangle-right", duplicated: "diamond", unexpected: "cross" },
      ),
      epochStartsLayer(d),
    ],
  };
}

/** Grey columns behind the steps that mixed precision skipped. */
function skippedStepsLayer(d: CheckJudgement) {
  const skipped = d.steps.flatMap((s) =>
    s.skipped ? [{ x0: nth(s.step) - 0.5, x1: nth(s.step) + 0.5 }] : [],
  );
  return {
    data: { values: skipped },
    mark: { type: "rect" as const, color: "#e0e0e0" },
    encoding: {
      x: { field: "x0", type: "quantitative" as const },
      x2: { field: "x1" },
    },
  };
}

/** The weight cells, coloured by weight over expected weight on a log scale centred on 1. */
function weightCellsLayer(
  d: CheckJudgement,
  grid: HeatmapGrid,
  { low, spread, values }: Colours,
  height: number,
  ySpec: ReturnType<typeof sampleAxis>,
) {
  return {
    data: { values },
    mark: { type: "rect" as const },
    encoding: {
      x: {
        field: "x0",
        type: "quantitative" as const,
        title:
          grid.stepBin === 1 ? "optimizer step" : `optimizer step (bins of up to ${grid.stepBin})`,
        scale: { domain: [0.5, d.steps.length + 0.5], nice: false, zero: false },
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
  };
}

/** Dashed rules at epoch starts, labelled (at most about 12 labels). */
function epochStartsLayer(d: CheckJudgement) {
  const starts = epochStarts(d.steps);
  const labelEvery = binSize(starts.length, 12);
  const epochMarks = starts
    .filter((_, i) => i % labelEvery === 0)
    .map((s) => ({ step: nth(s.step) - 0.5, label: `epoch ${nth(s.epoch)}` }));
  return {
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
  };
}

/** The "Not applied" panel: epochs across, lost (black) and dropped (grey) occurrences. */
function notAppliedPanel(
  d: CheckJudgement,
  grid: HeatmapGrid,
  cells: readonly NotAppliedCell[],
  height: number,
  ySpec: ReturnType<typeof sampleAxis>,
) {
  const E = d.scenario.epochs;
  const { epochBin } = grid;
  return {
    width: Math.min(200, Math.max(60, Math.ceil(E / epochBin) * 24)),
    height,
    title: { text: "Not applied", anchor: "start" as const, fontSize: 13 },
    layer: [
      {
        data: { values: [...cells] },
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
          cells.map((c) => ({ x0: c.e0, x1: c.e1, y0: c.y0, y1: c.y1, marker: c.status })),
        ),
        "not applied",
        { lost: "cross", dropped: "circle" },
        { lost: "#111111", dropped: "#a0a0a0" },
      ),
    ],
  };
}

/** What the heatmap shows, in words: its axes, binning, colour scale and markers. */
function heatmapSummary(
  d: CheckJudgement,
  grid: HeatmapGrid,
  { low, spread, values }: Colours,
  furthest: number,
  hasNotApplied: boolean,
): string {
  const { datasetSize: N, epochs: E } = d.scenario;
  const S = d.steps.length;
  const { stepBin, sampleBin, epochBin } = grid;
  const counts = { leaked: 0, lost: 0, duplicated: 0, dropped: 0 };
  for (const row of d.weights.status)
    for (const status of row) if (status !== "ok") counts[status]++;
  const binning = [
    stepBin > 1 ? `steps in ${grid.columns.length} epoch-aligned bins of up to ${stepBin}` : "",
    sampleBin > 1 ? `samples in bins of ${sampleBin}` : "",
    epochBin > 1 && hasNotApplied ? `"Not applied" epochs in bins of ${epochBin}` : "",
  ].filter(Boolean);
  const unexpected = values.filter((c) => c.marker === "unexpected").length;
  return (
    `Heatmap of the weight ${S === 1 ? "the one step" : `each of ${plural(S, "step")}`} (across) gave ` +
    `${N === 1 ? "the one sample" : `each of ${plural(N, "sample")}`} ` +
    `(down) over ${plural(E, "epoch")}${binning.length > 0 ? `, ${binning.join(", ")}` : ""}. ` +
    `Colour is weight divided by the expected weight ${d.scenario.weighting === "tokens" ? "n_i/T_W (the sample's loss tokens over its window's)" : "1/|W|"} on a log scale from ${formatNumber(low)} ` +
    `(blue, too little) through 1 (grey, correct) to ${formatNumber(spread)} (orange, too much); ` +
    `white means no occurrence; the ratio furthest from 1 is ${formatNumber(furthest)}. ` +
    markerSentence(counts, unexpected)
  );
}
