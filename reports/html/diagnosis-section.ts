import type {
  CheckDiagnosis,
  Counterexample,
  Verdict,
  WindowingResult,
} from "../../properties/result.js";
import { microBatchesPerEpoch, stepsPerEpoch } from "../../trainers/contract/scenario.js";
import { renderChartSvg } from "./chart-svg.js";
import { errorChart } from "./error-chart.js";
import { explainCheck } from "./explanation.js";
import { renderFigure } from "./figure.js";
import { escapeHtml, formatNumber, nth, plural } from "./format.js";
import { weightHeatmap } from "./heatmap.js";
import { heading, table, verdictBadge } from "./markup.js";
import { binSteps, largestBin } from "./step-bins.js";

const MAX_EPOCH_ROWS = 40;
const MAX_STEP_ROWS = 60;

function scenarioTable(d: CheckDiagnosis, caption: string): string {
  const s = d.result.scenario;
  const fields: Array<[string, string | number]> = [
    ["dataset size N", s.datasetSize],
    ["micro-batch size B", s.batchSize],
    ["accumulation K (micro-batches per window)", s.accumulation],
    ["epochs", s.epochs],
    ["drop_last", s.dropLast ? "yes" : "no"],
    ["shuffle", s.shuffle === false ? "no" : `seed ${s.shuffle}`],
    ["precision", s.precision],
    ["model", s.model],
    ["data seed", s.dataSeed],
    ["learning rate", s.learningRate],
    ["micro-batches per epoch", microBatchesPerEpoch(s)],
    ["windows per epoch", stepsPerEpoch(s)],
  ];
  return table({
    caption,
    columns: ["setting", "value"],
    rows: fields.map(([k, v]) => ({ header: escapeHtml(k), cells: [escapeHtml(String(v))] })),
  });
}

function okVerdict(ok: boolean): Verdict {
  return ok ? "pass" : "fail";
}

const COVERAGE_COUNTS = ["lost", "leaked", "duplicated", "dropped"] as const;

/** Each property's verdict, the oracle's message and its key figures, as a table. */
export function propertiesTable(
  d: CheckDiagnosis,
  caption = "Properties checked on this scenario",
): string {
  const p = d.result.properties;
  if (!p) return "";
  const w = p.weighting;
  const body =
    w.bodyMaxRelError === null
      ? ""
      : `; body ${formatNumber(w.bodyMaxRelError)} (tolerance ${formatNumber(w.bodyTolerance)})`;
  return table({
    caption,
    columns: ["property", "result", "finding", "figures"],
    rows: [
      {
        header: "coverage",
        cells: [
          verdictBadge(okVerdict(p.coverage.ok)),
          escapeHtml(p.coverage.message),
          escapeHtml(
            COVERAGE_COUNTS.map(
              (k) => `${k} ${p.coverage.epochs.reduce((n, e) => n + e[k], 0)}`,
            ).join(", "),
          ),
        ],
      },
      {
        header: "weighting",
        cells: [
          verdictBadge(okVerdict(w.ok)),
          escapeHtml(w.message),
          escapeHtml(
            `max relative weight error ${formatNumber(w.maxRelError)} (tolerance ${formatNumber(w.tolerance)}, detects ≥ ${formatNumber(w.detectableRelError)})${body}`,
          ),
        ],
      },
      {
        header: "windowing",
        cells: [
          verdictBadge(okVerdict(p.windowing.ok)),
          escapeHtml(p.windowing.message),
          escapeHtml(windowingFigures(p.windowing)),
        ],
      },
    ],
  });
}

/** "1 applied step and 0 skipped for 1 window; 1 window unmatched". */
export function windowingFigures(w: WindowingResult): string {
  return (
    `${plural(w.appliedSteps, "applied step")} and ${w.skippedSteps} skipped for ` +
    `${plural(w.expectedSteps, "window")}; ${plural(w.mismatches.length, "window")} unmatched`
  );
}

function coverageTable(d: CheckDiagnosis): string {
  const epochs = d.result.properties?.coverage.epochs ?? [];
  if (epochs.length === 0) return "";
  const troubled = epochs.filter((e) => e.lost + e.leaked + e.duplicated > 0);
  const shown =
    epochs.length <= MAX_EPOCH_ROWS
      ? epochs
      : (troubled.length > 0 ? troubled : epochs).slice(0, MAX_EPOCH_ROWS);
  const note =
    shown.length === epochs.length
      ? ""
      : troubled.length > 0
        ? ` (${shown.length} of ${epochs.length} epochs shown: the first with lost, leaked or duplicated samples)`
        : ` (first ${shown.length} of ${epochs.length} epochs shown; none lost, leaked or duplicated a sample)`;
  return table({
    caption: `Coverage per epoch${note}`,
    columns: ["epoch", "expected", "applied", "lost", "leaked", "duplicated", "dropped"],
    rows: shown.map((e) => ({
      header: String(nth(e.epoch)),
      cells: [e.expected, e.applied, e.lost, e.leaked, e.duplicated, e.dropped].map(String),
    })),
    numeric: [0, 1, 2, 3, 4, 5],
  });
}

function stepsTable(d: CheckDiagnosis): string {
  if (d.steps.length === 0) return "";
  const bins = binSteps(d.steps, MAX_STEP_ROWS);
  const binned = largestBin(bins) > 1;
  const rows = bins.map((b) => {
    const analysis = d.steps.find((s) => s.step === b.first);
    const window =
      !binned && analysis?.window
        ? `epoch ${nth(analysis.window.epoch)}, window ${nth(analysis.window.index)} (${analysis.window.size})`
        : "";
    return {
      header: b.first === b.last ? String(nth(b.first)) : `${nth(b.first)}–${nth(b.last)}`,
      cells: [
        b.epochFirst === b.epochLast
          ? String(nth(b.epochFirst))
          : `${nth(b.epochFirst)}–${nth(b.epochLast)}`,
        String(b.samples),
        ...(binned ? [] : [escapeHtml(window)]),
        String(b.skipped),
        formatNumber(b.weightRelError),
        b.bodyRelError === null ? "—" : formatNumber(b.bodyRelError),
      ],
    };
  });
  const columns = binned
    ? ["steps", "epochs", "samples", "skipped", "max weight error", "max body error"]
    : [
        "step",
        "epoch",
        "samples",
        "matched window (size)",
        "skipped",
        "weight error",
        "body error",
      ];
  const caption = binned
    ? `Per-step data in ${bins.length} bins of up to ${largestBin(bins)} steps (worst error of each bin)`
    : "Per-step data: samples applied, the window the oracle matched, relative errors";
  return `<details><summary>Per-step data table (${plural(d.steps.length, "step")})</summary>${table(
    {
      caption,
      columns,
      rows,
      numeric: binned ? [1, 2, 3, 4] : [1, 3, 4, 5],
    },
  )}</details>`;
}

function counterexampleDetails(c: Counterexample, casesRun: number | undefined): string {
  const found = casesRun === undefined ? "" : ` after ${plural(casesRun, "generated scenario")}`;
  return `<p>fast-check found this failure${escapeHtml(found)} and shrank it in ${plural(c.shrinks, "step")} (seed ${c.seed}, path <code>${escapeHtml(c.path)}</code>). Replay it with:</p>
<pre><code>${escapeHtml(c.replay)}</code></pre>`;
}

/**
 * The weight heatmap and the per-step error chart of a check as figures, ids prefixed with `id`;
 * empty when the check has no applied or skipped step to draw. `about` names what the charts
 * show in their titles (the trainer by default).
 */
export async function chartFigures(
  d: CheckDiagnosis,
  id: string,
  about = d.result.trainer,
): Promise<string> {
  const heatmap = weightHeatmap(d);
  const errors = errorChart(d);
  const [heatmapSvg, errorSvg] = await Promise.all([
    heatmap ? renderChartSvg(heatmap.spec, `${id}-heatmap`) : Promise.resolve(""),
    errors ? renderChartSvg(errors.spec, `${id}-errors`) : Promise.resolve(""),
  ]);
  return [
    heatmap
      ? renderFigure({
          id: `${id}-heatmap`,
          title: `Weight heatmap for ${about}`,
          svg: heatmapSvg,
          summary: heatmap.summary,
        })
      : "",
    errors
      ? renderFigure({
          id: `${id}-errors`,
          title: `Relative error per step for ${about}`,
          svg: errorSvg,
          summary: errors.summary,
        })
      : "",
  ]
    .filter(Boolean)
    .join("\n");
}

/**
 * The body of one check: plain-language explanation, replay command (for a counterexample),
 * scenario, properties, coverage per epoch, charts and per-step data. `level` is the heading
 * level of its subsections; `id` prefixes element and SVG ids so several fit in one page.
 */
export async function renderDiagnosis(
  d: CheckDiagnosis,
  options: { level: number; id: string; counterexample?: Counterexample; casesRun?: number },
): Promise<string> {
  const { level, id } = options;
  const figures = await chartFigures(d, id);
  const parts = [
    heading(level, d.result.verdict === "pass" ? "What the check found" : "What went wrong"),
    `<p class="explanation">${escapeHtml(explainCheck(d))}</p>`,
    options.counterexample
      ? `${heading(level, "Replay")}${counterexampleDetails(options.counterexample, options.casesRun)}`
      : "",
    heading(level, options.counterexample ? "Shrunk counterexample" : "Scenario"),
    scenarioTable(
      d,
      options.counterexample ? "The smallest failing scenario found" : "The scenario checked",
    ),
    propertiesTable(d),
    coverageTable(d),
    figures.trim() ? `${heading(level, "Charts")}${figures}${stepsTable(d)}` : "",
    d.result.error ? `<p><strong>Error:</strong> ${escapeHtml(d.result.error)}</p>` : "",
  ];
  return parts.filter(Boolean).join("\n");
}
