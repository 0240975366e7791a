import type { CheckJudgement, CheckOutcome } from "../../properties/outcome.js";
import { ranPrecision } from "../../properties/tolerance.js";
import {
  microBatchesPerEpoch,
  type Scenario,
  stepsPerEpoch,
} from "../../trainers/contract/scenario.js";
import { SCENARIO_FIELDS } from "../../trainers/contract/scenario-fields.js";
import {
  lossTokenWord,
  microBatchName,
  microBatchScaling,
  tokenWeightingOf,
} from "../sentences/loss-tokens.js";
import { stepFindings } from "../sentences/weighting.js";
import {
  formatCounts,
  formatWeight,
  lengthsText,
  nth,
  plural,
  precisionWords,
  WEIGHTING_WORDS,
} from "../words.js";
import { escapeHtml } from "./escape.js";
import { table } from "./markup.js";

/** Loss-token counts the page lists before it counts the rest. */
const LISTED_COUNTS = 40;

/** A scenario field's value as the scenario table shows it; null for a field it leaves out. */
function fieldValue(s: Scenario, key: keyof Scenario): string | null {
  const value = s[key];
  if (key === "shuffle") return value === false ? "no" : `seed ${value}`;
  if (key === "weighting") return WEIGHTING_WORDS[s.weighting];
  // Loss-token counts mean something under token weighting only.
  if (key === "lengths") return s.weighting === "tokens" ? lengthsText(s) : null;
  if (value === undefined) return null; // a field the scenario leaves out (steps under epochs)
  if (key === "epochs" && s.sampling === "replacement") return null; // no epochs: steps instead
  if (typeof value === "boolean") return value ? "yes" : "no";
  return String(value);
}

/** The scenario's settings as a table: every field the check used, and its micro-batches and windows per epoch. */
export function scenarioTable(s: Scenario, caption: string): string {
  const fields: Array<[string, string | number]> = [
    ...SCENARIO_FIELDS.flatMap((f): Array<[string, string]> => {
      const value = fieldValue(s, f.key);
      const name = f.symbol && f.symbol.length === 1 ? `${f.label} ${f.symbol}` : f.label;
      return value === null ? [] : [[name, value]];
    }),
    ...(s.sampling === "replacement"
      ? ([
          ["micro-batches drawn", (s.steps ?? 0) * s.accumulation],
          ["windows", s.steps ?? 0],
        ] as Array<[string, number]>)
      : ([
          ["micro-batches per epoch", microBatchesPerEpoch(s)],
          ["windows per epoch", stepsPerEpoch(s)],
        ] as Array<[string, number]>)),
  ];
  return table({
    caption,
    columns: ["setting", "value"],
    rows: fields.map(([k, v]) => ({ header: escapeHtml(k), cells: [escapeHtml(String(v))] })),
  });
}

/**
 * When the check's trainer ran another precision than the scenario asked for (or several), what
 * ran and the tolerance the weighting was held to: "Precision: asked fp16, ran fp32; the weighting
 * is held to fp32's tolerance."; empty when it ran as asked.
 */
export function precisionLine(check: CheckOutcome): string {
  const words = precisionWords(check.scenario.precision, check.trainerInfo);
  if (!words) return "";
  const held =
    check.verdict === "error"
      ? ""
      : `; the weighting is held to ${ranPrecision(check.scenario, check.trainerInfo)}'s tolerance`;
  return `<p class="precision">Precision: ${escapeHtml(words + held)}.</p>`;
}

/**
 * Under token weighting, each sample's loss tokens in one line (long lists cut, with a count)
 * and what a weight is held to; empty under sample weighting.
 */
export function lossTokensLine(check: CheckOutcome): string {
  const tokens = tokenWeightingOf(check);
  if (!tokens) return "";
  const total = tokens.lossTokens.reduce((n, t) => n + t, 0);
  return `<p class="loss-tokens">Loss tokens per sample, from sample 0: ${escapeHtml(formatCounts(tokens.lossTokens, LISTED_COUNTS))} (${escapeHtml(lossTokenWord(total))} in all). Each sample's expected weight is n_i/T_W: its loss tokens over the loss tokens of its window, counted over every rank; a sample without loss tokens is due none.</p>`;
}

/**
 * Under token weighting, the micro-batches of the window the worst-weighted step was matched
 * to, with their samples and loss tokens and, when a common loss scaling explains the step,
 * what it gave each micro-batch's mean and each of its loss tokens; empty otherwise.
 */
export function microBatchTable(d: CheckJudgement): string {
  const tokens = tokenWeightingOf(d);
  const worst = stepFindings(d.properties.weighting).reduce<
    ReturnType<typeof stepFindings>[number] | undefined
  >((w, f) => (!w || f.relError > w.relError ? f : w), undefined);
  const window = worst?.window;
  if (!tokens || !worst || !window || worst.microBatches.length === 0) return "";
  const scaling = microBatchScaling(worst, tokens);
  const due = window.units > 0 ? formatWeight(1 / window.units) : "—";
  const rows = worst.microBatches.map((mb) => {
    const mean = scaling ? scaling.weightOf(mb) : null;
    return {
      header: escapeHtml(microBatchName(mb, tokens.worldSize)),
      cells: [
        String(mb.samples),
        String(mb.units),
        ...(mean === null
          ? []
          : [formatWeight(mean), mb.units > 0 ? formatWeight(mean / mb.units) : "—"]),
        due,
      ].map(escapeHtml),
    };
  });
  const how = scaling
    ? `; the step's loss scaling: each micro-batch's token mean ${scaling.how}`
    : "";
  return table({
    caption: `Micro-batches of window ${nth(window.index)} of epoch ${nth(window.epoch)} (${plural(window.size, "sample")}, ${lossTokenWord(window.units)}), matched to step ${nth(worst.step)}${how}`,
    columns: [
      "micro-batch",
      "samples",
      "loss tokens",
      ...(scaling ? ["weight of its mean", "weight per loss token"] : []),
      "expected per loss token",
    ],
    rows,
    numeric: scaling ? [0, 1, 2, 3, 4] : [0, 1, 2],
  });
}
