import type { TopLevelSpec } from "vega-lite";
import type { CheckJudgement } from "../../properties/outcome.js";
import { formatNumber, nth, plural } from "../words.js";
import { CHART_CONFIG } from "./chart-style.js";
import { binSteps, epochStarts, largestBin, type StepBin } from "./step-bins.js";

/** The per-step relative error chart's spec and a text summary of what it shows. */
export interface ErrorChart {
  spec: TopLevelSpec;
  summary: string;
}

const MAX_POINTS = 400;

/** A drawn point: one step (or bin) and gradient part, its error clamped into the chart. */
interface ErrorPoint {
  step: number;
  series: string;
  value: number;
  raw: number;
}

/** What the chart draws, worked out from the check: the bins, the scale and every mark. */
interface ErrorPlot {
  bins: StepBin[];
  binned: boolean;
  hasBody: boolean;
  /** The log scale's bottom and top: smaller errors are drawn at the floor, non-finite at the top. */
  floor: number;
  top: number;
  /** The bins with at least one applied step. */
  applied: StepBin[];
  points: ErrorPoint[];
  skipped: Array<{ step: number; value: number }>;
  tolerances: Array<{ label: string; value: number; series: string }>;
}

/**
 * Per-step relative error against the oracle, on a log scale: the largest weight relative error
 * of each step and, with a body, the body gradient's relative error, with each tolerance as a
 * horizontal line. Long runs are binned (each point is the worst step of its bin); values
 * below the chart's floor are drawn at the floor. Null when the check has no step.
 */
export function errorChart(d: CheckJudgement): ErrorChart | null {
  if (d.steps.length === 0) return null;
  const plot = errorPlot(d);
  const spec = errorSpec(d, plot);
  const summary = errorSummary(d, plot);
  (spec as { description?: string }).description = summary;
  return { spec, summary };
}

/** Bins the steps and places every point, skipped-step cross and tolerance line. */
function errorPlot(d: CheckJudgement): ErrorPlot {
  const weighting = d.properties.weighting;
  const bins = binSteps(d.steps, MAX_POINTS);
  const binned = largestBin(bins) > 1;
  const hasBody = bins.some((b) => b.bodyRelError !== null);
  const floor = Math.min(weighting.tolerance, hasBody ? weighting.bodyTolerance : 1) / 1e4;
  const applied = bins.filter((b) => b.skipped < b.steps);
  const finiteErrors = applied.flatMap((b) =>
    [b.weightRelError, b.bodyRelError ?? 0].filter(Number.isFinite),
  );
  const top = Math.max(
    1,
    ...finiteErrors.map((e) => e * 2),
    weighting.tolerance * 10,
    hasBody ? weighting.bodyTolerance * 10 : 0,
  );
  /** Where an error is drawn: at the floor when tiny, at the top when not a finite number. */
  const drawn = (error: number) => (Number.isFinite(error) ? Math.max(floor, error) : top);
  const points = applied.flatMap((b) => {
    const rows: ErrorPoint[] = [
      {
        step: (nth(b.first) + nth(b.last)) / 2,
        series: "weights",
        value: drawn(b.weightRelError),
        raw: b.weightRelError,
      },
    ];
    if (b.bodyRelError !== null)
      rows.push({
        step: (nth(b.first) + nth(b.last)) / 2,
        series: "body",
        value: drawn(b.bodyRelError),
        raw: b.bodyRelError,
      });
    return rows;
  });
  const skipped = bins
    .filter((b) => b.skipped > 0)
    .map((b) => ({ step: (nth(b.first) + nth(b.last)) / 2, value: floor }));
  const tolerances = [{ label: "weight tolerance", value: weighting.tolerance, series: "weights" }];
  if (hasBody)
    tolerances.push({ label: "body tolerance", value: weighting.bodyTolerance, series: "body" });
  return { bins, binned, hasBody, floor, top, applied, points, skipped, tolerances };
}

/** The chart's vega-lite spec: epoch rules, tolerance lines, the points and skipped steps. */
function errorSpec(d: CheckJudgement, plot: ErrorPlot): TopLevelSpec {
  const starts = epochStarts(d.steps)
    .filter((s) => s.step > 0)
    .map((s) => ({ x: nth(s.step) - 0.5 }));
  return {
    $schema: "https://vega.github.io/schema/vega-lite/v6.json",
    config: CHART_CONFIG,
    width: 640,
    height: 220,
    title: { text: "Relative error against the float64 oracle", anchor: "start", fontSize: 13 },
    layer: [
      {
        data: { values: starts },
        mark: { type: "rule", color: "#999", strokeDash: [2, 3] },
        encoding: { x: { field: "x", type: "quantitative" } },
      },
      toleranceLayer(plot),
      pointsLayer(d, plot),
      {
        data: { values: plot.skipped },
        mark: { type: "point", shape: "cross", color: "#000", size: 60, filled: true },
        encoding: {
          x: { field: "step", type: "quantitative" },
          y: { field: "value", type: "quantitative" },
        },
      },
    ],
    resolve: { scale: { color: "shared" } },
  } as unknown as TopLevelSpec;
}

/** Each tolerance as a dashed horizontal line, labelled at the right. */
function toleranceLayer({ tolerances }: ErrorPlot) {
  return {
    data: { values: tolerances },
    layer: [
      {
        mark: { type: "rule", strokeWidth: 1.5 },
        encoding: {
          y: { field: "value", type: "quantitative" },
          color: { field: "series", type: "nominal", legend: null },
          strokeDash: { value: [6, 3] },
        },
      },
      {
        mark: { type: "text", align: "right", baseline: "bottom", dy: -2, fontSize: 11 },
        encoding: {
          y: { field: "value", type: "quantitative" },
          x: { value: 640 },
          text: { field: "label" },
          color: { field: "series", type: "nominal", legend: null },
        },
      },
    ],
  };
}

/** The errors of each step (or bin) and gradient part: points, joined by lines above 60. */
function pointsLayer(d: CheckJudgement, plot: ErrorPlot) {
  const { bins, binned, floor, top, points } = plot;
  const series = plot.hasBody ? ["weights", "body"] : ["weights"];
  const y = {
    field: "value",
    type: "quantitative" as const,
    title: "relative error (log)",
    scale: { type: "log" as const, domain: [floor, top], clamp: true, nice: false },
    axis: { format: "~e", tickCount: 6 },
  };
  const x = {
    field: "step",
    type: "quantitative" as const,
    title: binned
      ? `optimizer step (worst of bins of up to ${largestBin(bins)} steps)`
      : "optimizer step",
    scale: { domain: [0.5, d.steps.length + 0.5], nice: false, zero: false },
    axis: { tickMinStep: 1, format: "d" },
  };
  return {
    data: { values: points },
    mark:
      points.length > 60
        ? { type: "line", point: { filled: true, size: 16 } }
        : { type: "point", filled: true, opacity: 1, size: 60 },
    encoding: {
      x,
      y,
      color: {
        field: "series",
        type: "nominal",
        title: "gradient part",
        scale: { domain: series, range: ["#b35806", "#2166ac"] },
      },
      shape: {
        field: "series",
        type: "nominal",
        title: "gradient part",
        scale: { domain: series, range: ["circle", "square"] },
      },
      ...(points.length > 60
        ? {
            strokeDash: {
              field: "series",
              type: "nominal",
              title: "gradient part",
              scale: {
                domain: series,
                range: [
                  [1, 0],
                  [4, 2],
                ],
              },
            },
          }
        : {}),
    },
  };
}

/** What the chart shows, in words: scale, largest errors against the tolerances, skipped steps. */
function errorSummary(d: CheckJudgement, plot: ErrorPlot): string {
  const weighting = d.properties.weighting;
  const { bins, binned, floor, applied, skipped } = plot;
  const S = d.steps.length;
  const worstWeight = applied.reduce((m, b) => Math.max(m, b.weightRelError), 0);
  const over = applied.filter((b) => b.weightRelError > weighting.tolerance);
  const bodies = applied.flatMap((b) => (b.bodyRelError === null ? [] : [b.bodyRelError]));
  const body = plot.hasBody
    ? ` Body gradient: largest ${formatNumber(Math.max(...bodies))} against tolerance ${formatNumber(weighting.bodyTolerance)}.`
    : "";
  return (
    `Relative error per ${binned ? `bin of up to ${largestBin(bins)} steps` : "step"} over ${plural(S, "step")}, log scale, ` +
    `values below ${formatNumber(floor)} drawn at ${formatNumber(floor)}, non-finite values at the top. Weights: largest ${formatNumber(worstWeight)} ` +
    `against tolerance ${formatNumber(weighting.tolerance)}, ${plural(over.length, binned ? "bin" : "step")} above it` +
    `${over.length > 0 ? ` (first at step ${nth(over[0]?.first ?? 0)})` : ""}.${body}` +
    `${skipped.length > 0 ? ` ${plural(skipped.length, "skipped step")} marked with a cross.` : ""}`
  );
}
