import type { CheckJudgement } from "../../properties/outcome.js";
import { formatShare, formatWeight, nth } from "../words.js";
import { escapeHtml } from "./escape.js";
import { table } from "./markup.js";

/** Occurrences and steps up to which a table of weights says more than a heatmap. */
const MAX_OCCURRENCES = 8;
const MAX_STEPS = 8;

/** Whether a check is small enough to show its weights as a table instead of a heatmap. */
export function fitsWeightsTable(d: CheckJudgement): boolean {
  return (
    d.scenario.datasetSize * d.scenario.epochs <= MAX_OCCURRENCES && d.steps.length <= MAX_STEPS
  );
}

/**
 * Every weight of a small check as a table: a row per step, a column per occurrence (epoch,
 * sample), each cell the weight the step gave it and, where it differs, the weight expected;
 * under token weighting a first row gives each sample's loss tokens.
 */
export function weightsTable(d: CheckJudgement): string {
  const { epochs, datasetSize } = d.scenario;
  const occurrences = Array.from({ length: epochs * datasetSize }, (_, k) => ({
    epoch: Math.floor(k / datasetSize),
    sample: k % datasetSize,
  }));
  const lossTokens = d.scenario.weighting === "tokens" ? d.weights.lossTokens : undefined;
  const rows = d.steps.map((step) => {
    const entries = d.weights.byStep[step.step] ?? [];
    return {
      header: `step ${nth(step.step)} (epoch ${nth(step.epoch)})${step.skipped ? ", skipped" : ""}`,
      cells: occurrences.map(({ epoch, sample }) => {
        const entry = entries.find((e) => e.epoch === epoch && e.sample === sample);
        if (!entry) return "—";
        const expected = d.weights.expected[epoch]?.[sample] ?? 0;
        const off =
          Math.abs(entry.weight - expected) >
          d.properties.weighting.tolerance * Math.max(expected, 1e-12);
        const due = lossTokens
          ? formatShare(lossTokens[sample] ?? 0, expected)
          : formatWeight(expected);
        return escapeHtml(
          off ? `${formatWeight(entry.weight)} (expected ${due})` : formatWeight(entry.weight),
        );
      }),
    };
  });
  const tokensRow = lossTokens
    ? [
        {
          header: "loss tokens n_i",
          cells: occurrences.map(({ sample }) => String(lossTokens[sample] ?? 0)),
        },
      ]
    : [];
  return table({
    caption: lossTokens
      ? "Weight each step gave each sample's occurrence (— none); where it is not n_i/T_W (the sample's loss tokens over its window's), the expected weight follows"
      : "Weight each step gave each sample's occurrence (— none); where it is not 1/|W|, the expected weight follows",
    columns: [
      "step",
      ...occurrences.map(
        ({ epoch, sample }) => `sample ${sample}${epochs > 1 ? `, epoch ${nth(epoch)}` : ""}`,
      ),
    ],
    rows: [...tokensRow, ...rows],
  });
}
