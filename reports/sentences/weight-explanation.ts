import type { CheckJudgement, WeightGroup } from "../../properties/outcome.js";
import {
  formatChange,
  formatList,
  formatNumber,
  formatSampleSet,
  formatWeight,
  nth,
  plural,
  stepName,
} from "../words.js";
import {
  groupTokensText,
  lossTokenWord,
  microBatchesClause,
  type TokenWeighting,
  tokenFraction,
  tokenShareText,
  tokenWeightingOf,
} from "./loss-tokens.js";
import { stepFindings } from "./weighting.js";

/**
 * "8 samples of epoch 1 (96–103) got weight 1/32 where sample-count weighting gives 1/14, so ...";
 * under token weighting "1 sample (0; 1 loss token) got weight 1/2 where token weighting gives
 * 1/3 (1 of its window's 3 loss tokens), so ...".
 */
function groupClause(g: WeightGroup, stepEpoch: number, tokens: TokenWeighting | null): string {
  const tag = g.epoch !== stepEpoch ? ` of epoch ${nth(g.epoch)}` : "";
  const update = g.samples.count === 1 ? "its update" : "their update";
  const consequence =
    g.expected === 0
      ? `${update} was applied where none was due`
      : g.weight === 0
        ? `${update} was left out`
        : `${update} was ${formatChange(g.weight, g.expected)} than it should have been`;
  const held = tokens ? `; ${groupTokensText(g, tokens)}` : "";
  const expected = tokens
    ? `token weighting gives ${tokenShareText(g, tokens) ?? formatWeight(g.expected)}`
    : `sample-count weighting gives ${formatWeight(g.expected)}`;
  return (
    `${plural(g.samples.count, "sample")}${tag} (${formatSampleSet(g.samples)}${held}) got weight ` +
    `${formatWeight(g.weight)} where ${expected}, so ${consequence}`
  );
}

/**
 * Whether a step weighted its samples unequally, or equally but wrongly: equal weights that mix
 * two epochs, that token weighting would have made unequal, or that are not what their window
 * gives each sample.
 */
function stepCharacter(
  groups: readonly WeightGroup[],
  spread: number,
  tolerance: number,
  tokens: TokenWeighting | null,
): string {
  const weights = groups.map((g) => g.weight);
  if (spread > tolerance)
    return `The step weighted its samples unequally: its largest weight is ${formatChange(Math.max(...weights), Math.min(...weights))} than its smallest.`;
  const each = `${formatWeight(weights[0] ?? 0)} each`;
  const epochs = [...new Set(groups.map((g) => nth(g.epoch)))];
  if (epochs.length > 1)
    return `Its weights are equal (${each}), but it mixed samples of epochs ${epochs.join(" and ")} in one step.`;
  const expected = groups[0]?.expected ?? 0;
  if (tokens) {
    const due = [
      ...new Set(
        [...groups]
          .sort((a, b) => a.expected - b.expected)
          .map((g) => tokenFraction(g, tokens) ?? formatWeight(g.expected)),
      ),
    ];
    if (due.length > 1)
      return `Its weights are equal (${each}), but its samples hold different numbers of loss tokens, so token weighting gives them ${formatList(due, 4)}.`;
    const first = groups[0];
    const share = first ? tokenShareText(first, tokens) : null;
    if (share !== null)
      return `Its weights are equal (${each}), but token weighting gives each ${share}.`;
  }
  return expected > 0
    ? `Its weights are equal (${each}), but its samples' ${Math.round(1 / expected)}-sample window gives each ${formatWeight(expected)}.`
    : `Its weights are equal (${each}), but no weight was due.`;
}

/**
 * The weighting part of an explanation: the worst step, its window, which samples got which
 * weight against which expected one, whether it weighted them unequally or equally but wrongly,
 * under token weighting its window's micro-batches, and how many steps were off.
 */
export function weightingSentences(c: CheckJudgement): string[] {
  const weighting = c.properties.weighting;
  const steps = stepFindings(weighting);
  const worst = steps.reduce<(typeof steps)[number] | undefined>(
    (w, f) => (!w || f.relError > w.relError ? f : w),
    undefined,
  );
  if (!worst) return [];
  const tokens = tokenWeightingOf(c);
  const held = worst.window
    ? `${plural(worst.window.size, "sample")}${tokens ? `, ${lossTokenWord(worst.window.units)}` : ""}`
    : "";
  const where = worst.window
    ? `, which the oracle matched to window ${nth(worst.window.index)} of epoch ${nth(worst.window.epoch)} (${held})`
    : "";
  const wrong = worst.groups
    .filter((g) => g.relError > weighting.tolerance)
    .sort((a, b) => b.relError - a.relError);
  const right = worst.groups
    .filter((g) => !wrong.includes(g))
    .reduce((n, g) => n + g.samples.count, 0);
  const sentences = [
    `In ${stepName(worst.step, worst.epoch)}${where}, ${wrong
      .slice(0, 4)
      .map((g) => groupClause(g, worst.epoch, tokens))
      .join("; ")}` +
      `${right === 1 ? "; the step's other sample got its expected weight" : ""}` +
      `${right > 1 ? `; the step's other ${plural(right, "sample")} got their expected weight` : ""}.`,
    stepCharacter(worst.groups, worst.spread, weighting.tolerance, tokens),
  ];
  const microBatches = tokens ? microBatchesClause(worst, tokens) : "";
  if (microBatches) sentences.push(`${microBatches[0]?.toUpperCase()}${microBatches.slice(1)}.`);
  const which =
    steps.length === c.steps.length
      ? `All ${c.steps.length.toLocaleString("en-US")} steps`
      : `${steps.length} of ${plural(c.steps.length, "step")}`;
  if (c.steps.length > 1)
    sentences.push(
      `${which} gave some sample a wrong weight ` +
        `(largest relative error ${formatNumber(weighting.maxRelError)}, tolerance ${formatNumber(weighting.tolerance)}).`,
    );
  return sentences;
}

/** The body gradient's distance from the float64 oracle, when it is beyond its tolerance. */
export function bodySentences(c: CheckJudgement): string[] {
  const w = c.properties.weighting;
  if (w.bodyMaxRelError === null || w.bodyMaxRelError <= w.bodyTolerance) return [];
  const at = w.bodyWorstStep === null ? "" : ` (worst at step ${nth(w.bodyWorstStep)})`;
  return [
    `The body gradient differed from the float64 oracle by up to ${formatNumber(w.bodyMaxRelError)} ` +
      `relative${at}, against a tolerance of ${formatNumber(w.bodyTolerance)}.`,
  ];
}
