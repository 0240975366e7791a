import {
  type CheckErrorCause,
  type CheckJudgement,
  type CheckOutcome,
  type PROPERTY_NAMES,
  propertiesFor,
  type Verdict,
  type WindowingResult,
} from "../../properties/outcome.js";
import { totalOf } from "../sentences/coverage.js";
import {
  checkErrorMessage,
  explainCheck,
  leadSentence,
  printedLines,
  propertyMessage,
  tracebackLines,
} from "../sentences/index.js";
import { formatNumber, nth, plural } from "../words.js";
import { renderAdvice } from "./advice-section.js";
import { renderChartSvg } from "./chart-svg.js";
import { errorChart } from "./error-chart.js";
import { escapeHtml } from "./escape.js";
import { renderFigure } from "./figure.js";
import { weightHeatmap } from "./heatmap.js";
import { heading, table, verdictBadge } from "./markup.js";
import { lossTokensLine, microBatchTable, precisionLine, scenarioTable } from "./scenario-panel.js";
import { binSteps, largestBin } from "./step-bins.js";
import { stepSemanticsSection } from "./step-semantics-section.js";
import { fitsWeightsTable, weightsTable } from "./weights-table.js";

const MAX_EPOCH_ROWS = 40;
const MAX_STEP_ROWS = 60;

function okVerdict(ok: boolean): Verdict {
  return ok ? "pass" : "fail";
}

const COVERAGE_COUNTS = ["lost", "leaked", "duplicated", "dropped"] as const;

/** Each property's key figures, in words. */
function propertyFigures(d: CheckJudgement): Record<(typeof PROPERTY_NAMES)[number], string> {
  const { coverage, weighting: w, windowing } = d.properties;
  const body =
    w.bodyMaxRelError === null
      ? ""
      : `; body ${formatNumber(w.bodyMaxRelError)} (tolerance ${formatNumber(w.bodyTolerance)})`;
  return {
    coverage: COVERAGE_COUNTS.map((k) => `${k} ${totalOf(coverage, k)}`).join(", "),
    weighting: `max relative weight error ${formatNumber(w.maxRelError)} (tolerance ${formatNumber(w.tolerance)}, detects ≥ ${formatNumber(w.detectableRelError)})${body}`,
    windowing: windowingFigures(windowing),
    replicas: `${plural(d.properties.replicas.ranks, "rank")}; largest difference from rank 0 ${formatNumber(d.properties.replicas.maxRelError)} (tolerance ${formatNumber(d.properties.replicas.tolerance)})`,
    ...stepPropertyFigures(d),
  };
}

/** The step properties' key figures: steps off the schedule, updates per step, the optimizer's count. */
function stepPropertyFigures(
  d: CheckJudgement,
): Record<"schedule" | "averaging" | "optimizer", string> {
  const { schedule, averaging, optimizer } = d.properties;
  const off = schedule.findings.filter((f) => f.kind === "learning-rate").length;
  const updates = averaging.steps.map((s) => (s.updates === null ? "?" : String(s.updates)));
  return {
    schedule: `${plural(schedule.steps.length, "applied step")} of ${schedule.length} scheduled; ${off} off the schedule (tolerance ${formatNumber(schedule.tolerance)} relative)`,
    averaging: `updates per step call: ${updates.slice(0, 24).join(" ")}${updates.length > 24 ? " …" : ""} (tolerance ${formatNumber(averaging.tolerance)} of each move)`,
    optimizer: `counted ${optimizer.counted ?? "none"}; applied ${optimizer.appliedSteps}`,
  };
}

/** Each property's verdict, its message and its key figures, as a table. */
export function propertiesTable(
  d: CheckJudgement,
  caption = "Properties checked on this scenario",
): string {
  const figures = propertyFigures(d);
  return table({
    caption,
    columns: ["property", "result", "finding", "figures"],
    rows: propertiesFor(d.scenario.worldSize, d.scenario).map((name) => ({
      header: name,
      cells: [
        verdictBadge(
          name === "weighting" && d.properties.weighting.weightedSteps === 0
            ? "n/a"
            : okVerdict(d.properties[name].ok),
        ),
        escapeHtml(propertyMessage(d, name)),
        escapeHtml(figures[name]),
      ],
    })),
  });
}

/** "1 applied step and 0 skipped for 1 window; 1 window unmatched". */
export function windowingFigures(w: WindowingResult): string {
  const unmatched = w.findings.filter((f) => f.kind === "unmatched-window").length;
  return (
    `${plural(w.appliedSteps, "applied step")} and ${w.skippedSteps} skipped for ` +
    `${plural(w.expectedSteps, "window")}; ${plural(unmatched, "window")} unmatched`
  );
}

function coverageTable(d: CheckJudgement): string {
  const epochs = d.properties.coverage.epochs;
  if (epochs.length === 0) return "";
  const all = epochs[0];
  if (d.scenario.sampling === "replacement" && all)
    return table({
      caption: "Coverage of the draws (a sample drawn twice counts twice)",
      columns: ["draws", "expected", "applied once", "lost", "applied more than once"],
      rows: [
        { header: "all", cells: [all.expected, all.applied, all.lost, all.duplicated].map(String) },
      ],
      numeric: [0, 1, 2, 3],
    });
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

function stepsTable(d: CheckJudgement): string {
  if (d.steps.length === 0) return "";
  const bins = binSteps(d.steps, MAX_STEP_ROWS);
  const binned = largestBin(bins) > 1;
  const rows = bins.map((b) => {
    const analysis = d.steps.find((s) => s.step === b.first);
    const tokens =
      d.scenario.weighting === "tokens" && analysis?.window ? `, ${analysis.window.units}` : "";
    const window =
      !binned && analysis?.window
        ? d.scenario.sampling === "replacement"
          ? `window ${nth(analysis.window.index)} (${plural(analysis.window.size, "draw")}${tokens})`
          : `epoch ${nth(analysis.window.epoch)}, window ${nth(analysis.window.index)} (${analysis.window.size}${tokens})`
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
        formatNumber(b.weightSpread),
        b.bodyRelError === null ? "—" : formatNumber(b.bodyRelError),
      ],
    };
  });
  const columns = binned
    ? [
        "steps",
        "epochs",
        "samples",
        "skipped",
        "max weight error",
        "max weight spread",
        "max body error",
      ]
    : [
        "step",
        "epoch",
        "samples",
        d.scenario.weighting === "tokens"
          ? "matched window (samples, loss tokens)"
          : "matched window (size)",
        "skipped",
        "weight error",
        "weight spread",
        "body error",
      ];
  const caption = binned
    ? `Per-step data in ${bins.length} bins of up to ${largestBin(bins)} steps (worst error of each bin)`
    : "Per-step data: samples applied, the window the oracle matched, the weights' relative error against it and their spread (largest over smallest, minus 1), the body's relative error";
  return `<details><summary>Per-step data table (${plural(d.steps.length, "step")})</summary>${table(
    {
      caption,
      columns,
      rows,
      numeric: binned ? [1, 2, 3, 4, 5] : [1, 3, 4, 5, 6],
    },
  )}</details>`;
}

/** A check's error: the message, the trainer's own frames and the last lines it printed. */
export function errorSection(cause: CheckErrorCause): string {
  return `<p><strong>Error:</strong> ${escapeHtml(checkErrorMessage(cause))}</p>${errorDetails(cause)}`;
}

/** The trainer's own frames an error passed through and the last lines it printed, when known. */
export function errorDetails(cause: CheckErrorCause): string {
  const frames = tracebackLines(cause);
  const output = printedLines(cause);
  return [
    frames.length > 0
      ? `<p>In your code, outermost first:</p><pre><code>${escapeHtml(frames.join("\n"))}</code></pre>`
      : "",
    output.length > 0
      ? `<p>The last lines the trainer printed:</p><pre><code>${escapeHtml(output.join("\n"))}</code></pre>`
      : "",
  ].join("");
}

/** The plain-language explanation of a check, led by its one short sentence in bold. */
export function explanationParagraph(check: CheckOutcome): string {
  // An error's explanation is one sentence already.
  const lead =
    check.verdict === "error" ? "" : `<strong>${escapeHtml(leadSentence(check))}</strong> `;
  return `<p class="explanation">${lead}${escapeHtml(explainCheck(check))}</p>`;
}

/** How the property search found a counterexample and the command that replays it. */
export interface CounterexampleNote {
  seed: number;
  path: string;
  shrinks: number;
  casesRun: number;
  replay: string;
}

function counterexampleDetails(c: CounterexampleNote): string {
  return `<p>fast-check found this failure after ${escapeHtml(plural(c.casesRun, "generated scenario"))} and shrank it in ${plural(c.shrinks, "step")} (seed ${c.seed}, path <code>${escapeHtml(c.path)}</code>). Replay it with:</p>
<pre><code>${escapeHtml(c.replay)}</code></pre>`;
}

/**
 * The weight heatmap and the per-step error chart of a check as figures, ids prefixed with `id`;
 * empty when the check could not run or has no applied or skipped step to draw. `about` names
 * what the charts show in their titles (the trainer by default).
 */
export async function chartFigures(
  d: CheckOutcome,
  id: string,
  about = d.trainer,
): Promise<string> {
  if (d.verdict === "error") return "";
  // Under replacement a sample's due weight changes from window to window with its draws: the
  // per-sample weight table and heatmap, which divide by one due weight per sample, do not apply.
  const draws = d.scenario.sampling === "replacement";
  const small = !draws && fitsWeightsTable(d);
  const heatmap = small || draws ? null : weightHeatmap(d);
  const errors = errorChart(d);
  const [heatmapSvg, errorSvg] = await Promise.all([
    heatmap ? renderChartSvg(heatmap.spec, `${id}-heatmap`) : Promise.resolve(""),
    errors ? renderChartSvg(errors.spec, `${id}-errors`) : Promise.resolve(""),
  ]);
  return [
    small && d.steps.length > 0 ? weightsTable(d) : "",
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
 * scenario, properties, coverage per epoch, charts and per-step data; for a check that could not
 * run, the explanation and the scenario. `level` is the heading level of its subsections; `id`
 * prefixes element and SVG ids so several fit in one page.
 */
export async function renderCheckBody(
  d: CheckOutcome,
  options: { level: number; id: string; counterexample?: CounterexampleNote },
): Promise<string> {
  const { level, id, counterexample } = options;
  const figures = await chartFigures(d, id);
  const judged = d.verdict === "error" ? null : d;
  const stepSemantics = judged ? await stepSemanticsSection(judged, id) : "";
  const parts = [
    heading(level, d.verdict === "pass" ? "What the check found" : "What went wrong"),
    explanationParagraph(d),
    renderAdvice(d, level),
    counterexample ? `${heading(level, "Replay")}${counterexampleDetails(counterexample)}` : "",
    heading(level, counterexample ? "Shrunk counterexample" : "Scenario"),
    scenarioTable(
      d.scenario,
      counterexample ? "The smallest failing scenario found" : "The scenario checked",
    ),
    precisionLine(d),
    lossTokensLine(d),
    judged ? propertiesTable(judged) : "",
    judged ? microBatchTable(judged) : "",
    judged ? coverageTable(judged) : "",
    judged && figures.trim() ? `${heading(level, "Charts")}${figures}${stepsTable(judged)}` : "",
    stepSemantics ? `${heading(level, "Step semantics")}${stepSemantics}` : "",
    d.verdict === "error" ? errorSection(d.error) : "",
  ];
  return parts.filter(Boolean).join("\n");
}
