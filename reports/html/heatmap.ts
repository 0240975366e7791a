import type { TopLevelSpec } from "vega-lite";
import type { CheckJudgement } from "../../properties/outcome.js";
import { formatNumber, nth, plural, wasWere } from "../words.js";
import { CHART_CONFIG } from "./chart-style.js";
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

interface Run {
  x0: number;
  x1: number;
  y0: number;
  y1: number;
  marker: string;
}

/** Above this many runs, a column's runs of one marker merge into one (keeps the page small). */
const MAX_MARKER_RUNS = 1500;

/**
 * Merges vertically adjacent marked cells of one column into runs, one outline and marker each;
 * when that leaves too many runs, each column's runs of one marker become a single span.
 */
function markerRuns(cells: readonly Run[]): Run[] {
  const runs = adjacentRuns(cells);
  if (runs.length <= MAX_MARKER_RUNS) return runs;
  const spans = new Map<string, Run>();
  for (const r of runs) {
    const key = `${r.x0}|${r.marker}`;
    const span = spans.get(key);
    if (!span) spans.set(key, { ...r });
    else [span.y0, span.y1] = [Math.min(span.y0, r.y0), Math.max(span.y1, r.y1)];
  }
  return [...spans.values()];
}

function adjacentRuns(cells: readonly Run[]): Run[] {
  const sorted = [...cells].sort(
    (a, b) => a.x0 - b.x0 || a.marker.localeCompare(b.marker) || a.y0 - b.y0,
  );
  const runs: Run[] = [];
  for (const c of sorted) {
    const last = runs[runs.length - 1];
    if (last && last.x0 === c.x0 && last.marker === c.marker && last.y1 === c.y0) last.y1 = c.y1;
    else runs.push({ ...c });
  }
  return runs;
}

/**
 * Layers drawing each run as a black outline with a shape marker at its centre; the legend
 * lists only the markers present. `colours` also fills the markers (one legend for both).
 */
function markerLayers(
  runs: readonly Run[],
  title: string,
  shapes: Record<string, string>,
  colours?: Record<string, string>,
) {
  if (runs.length === 0) return [];
  const present = Object.keys(shapes).filter((m) => runs.some((r) => r.marker === m));
  const scale = (range: Record<string, string>) => ({
    domain: present,
    range: present.map((m) => range[m]),
  });
  return [
    {
      data: { values: runs },
      mark: { type: "rect" as const, fill: null, stroke: "#000", strokeWidth: 1.5 },
      encoding: {
        x: { field: "x0", type: "quantitative" as const },
        x2: { field: "x1" },
        y: { field: "y0", type: "quantitative" as const },
        y2: { field: "y1" },
      },
    },
    {
      data: { values: runs },
      transform: [
        { calculate: "(datum.x0 + datum.x1) / 2", as: "xc" },
        { calculate: "(datum.y0 + datum.y1) / 2", as: "yc" },
      ],
      mark: {
        type: "point" as const,
        filled: true,
        opacity: 1,
        color: "#000",
        stroke: "#fff",
        strokeWidth: 1,
        size: 70,
      },
      encoding: {
        x: { field: "xc", type: "quantitative" as const },
        y: { field: "yc", type: "quantitative" as const },
        shape: { field: "marker", type: "nominal" as const, title, scale: scale(shapes) },
        ...(colours
          ? { color: { field: "marker", type: "nominal" as const, title, scale: scale(colours) } }
          : {}),
      },
    },
  ];
}

/** What the markers and the "Not applied" panel show, naming only what is there. */
function markerSentence(
  counts: { leaked: number; duplicated: number; lost: number; dropped: number },
  unexpected: number,
): string {
  const marked = [
    counts.leaked > 0
      ? `${plural(counts.leaked, "occurrence")} leaked into a later epoch (outlined, triangle marker)`
      : "",
    counts.duplicated > 0
      ? `${plural(counts.duplicated, "occurrence")} ${wasWere(counts.duplicated)} applied more than once (outlined, diamond marker)`
      : "",
    unexpected > 0
      ? `${plural(unexpected, "cell")} ${unexpected === 1 ? "holds" : "hold"} a weight where none was due or one that is not a finite number (outlined, cross marker)`
      : "",
  ].filter(Boolean);
  const notApplied = [
    counts.lost > 0 ? `${plural(counts.lost, "lost occurrence")} (cross marker)` : "",
    counts.dropped > 0
      ? `${plural(counts.dropped, "occurrence")} dropped by drop_last on purpose (circle marker)`
      : "",
  ].filter(Boolean);
  const sentences = [
    marked.length > 0 ? `${marked.join("; ")}.` : "",
    notApplied.length > 0 ? `The "Not applied" panel shows ${notApplied.join(" and ")}.` : "",
  ].filter(Boolean);
  return sentences.length > 0
    ? sentences.join(" ")
    : "No occurrence leaked, was applied twice or was lost: there are no markers.";
}

/**
 * Per-step by per-sample weight heatmap: steps across, samples down, colour = weight divided by
 * the expected weight 1/|W| (log scale, centred on 1). Occurrences that leaked into a later
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
    `Colour is weight divided by the expected weight 1/|W| on a log scale from ${formatNumber(low)} ` +
    `(blue, too little) through 1 (grey, correct) to ${formatNumber(spread)} (orange, too much); ` +
    `white means no occurrence; the ratio furthest from 1 is ${formatNumber(furthest)}. ` +
    markerSentence(counts, unexpected);

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
