import type { TopLevelSpec } from "vega-lite";
import type { CheckJudgement } from "../../properties/outcome.js";
import { formatNumber, nth, plural } from "../words.js";
import { CHART_CONFIG } from "./chart-style.js";
import { renderChartSvg } from "./chart-svg.js";
import { renderFigure } from "./figure.js";
import { table } from "./markup.js";

/** Most rows of the per-step table; the chart draws every applied step. */
const MAX_ROWS = 64;

/** The learning rate of every applied step, expected and used, as a line chart's spec and summary. */
export function learningRateChart(
  d: CheckJudgement,
): { spec: TopLevelSpec; summary: string } | null {
  const { schedule } = d.properties;
  if (!schedule.applies || schedule.steps.length === 0) return null;
  const values = schedule.steps.flatMap((s) => [
    { s: s.appliedStep, rate: s.expected, series: "schedule (expected)" },
    ...(s.used === null ? [] : [{ s: s.appliedStep, rate: s.used, series: "used by the step" }]),
  ]);
  const off = schedule.findings.filter((f) => f.kind === "learning-rate").length;
  const summary = `${plural(schedule.steps.length, "applied step")} of a ${d.scenario.schedule} schedule over ${schedule.length} (${plural(d.scenario.warmupSteps, "warm-up step")}); ${off === 0 ? "every step used its own step's rate" : `${plural(off, "step")} used another step's rate`}.`;
  const spec: TopLevelSpec = {
    $schema: "https://vega.github.io/schema/vega-lite/v5.json",
    width: 560,
    height: 200,
    config: CHART_CONFIG,
    data: { values },
    mark: { type: "line", point: true },
    encoding: {
      x: { field: "s", type: "quantitative", title: "applied step s (from 0)" },
      y: { field: "rate", type: "quantitative", title: "learning rate" },
      color: { field: "series", type: "nominal", title: null },
      strokeDash: { field: "series", type: "nominal", legend: null },
    },
  };
  (spec as { description?: string }).description = summary;
  return { spec, summary };
}

/** Per step call: the learning rate expected and used, the clip factor, the average's updates, the optimizer's count. */
function stepTable(d: CheckJudgement): string {
  const { schedule, averaging } = d.properties;
  const rates = new Map(schedule.steps.map((s) => [s.step, s]));
  const updates = new Map(averaging.steps.map((s) => [s.step, s]));
  const clip = d.scenario.clipNorm !== undefined;
  const columns = [
    "step",
    "epoch",
    "applied step s",
    ...(schedule.applies ? ["expected LR", "used LR"] : []),
    ...(clip ? ["clip factor due", "weights / due"] : []),
    ...(averaging.applies ? ["average updates (due)"] : []),
  ];
  const rows = d.steps.slice(0, MAX_ROWS).map((step) => {
    const rate = rates.get(step.step);
    const average = updates.get(step.step);
    return {
      header: String(nth(step.step)),
      cells: [
        String(nth(step.epoch)),
        step.skipped ? "skipped" : String(rate?.appliedStep ?? "—"),
        ...(schedule.applies
          ? [
              rate ? formatNumber(rate.expected) : "—",
              rate?.used === null || rate === undefined ? "—" : formatNumber(rate.used),
            ]
          : []),
        ...(clip
          ? [
              formatNumber(step.clipFactor),
              step.weightFactor === null ? "not one factor" : formatNumber(step.weightFactor),
            ]
          : []),
        ...(averaging.applies
          ? [
              average
                ? `${average.updates === null ? "?" : average.updates} (${average.expectedUpdates})`
                : "—",
            ]
          : []),
      ],
    };
  });
  const more = d.steps.length > MAX_ROWS ? ` (first ${MAX_ROWS} of ${d.steps.length})` : "";
  return table({
    caption: `What each step did beyond its gradient${more}`,
    columns,
    rows,
    numeric: columns.slice(1).map((_, k) => k),
  });
}

/**
 * The step semantics of a check, when its scenario sets any: the learning rate per applied step
 * (expected and used) as a chart, and a table of the clip factor, the average's updates and the
 * rates per step. Empty when the scenario sets none.
 */
export async function stepSemanticsSection(d: CheckJudgement, id: string): Promise<string> {
  const { schedule, averaging } = d.properties;
  if (!schedule.applies && !averaging.applies && d.scenario.clipNorm === undefined) return "";
  const chart = learningRateChart(d);
  const svg = chart ? await renderChartSvg(chart.spec, `${id}-learning-rate`) : "";
  return [
    chart
      ? renderFigure({
          id: `${id}-learning-rate`,
          title: `Learning rate per applied step for ${d.trainer}`,
          svg,
          summary: chart.summary,
        })
      : "",
    stepTable(d),
  ]
    .filter(Boolean)
    .join("\n");
}
