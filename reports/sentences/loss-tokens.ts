import type {
  CheckOutcome,
  MicroBatchRef,
  WeightGroup,
  WeightingFinding,
} from "../../properties/outcome.js";
import { sampleIds } from "../../properties/sample-set.js";
import { lossTokenCounts } from "../../trainers/contract/probe.js";
import { formatShare, formatWeight, nth, plural } from "../words.js";

type StepWeights = Extract<WeightingFinding, { kind: "step-weights" }>;

/** Micro-batches a sentence lists before it counts the rest. */
const LISTED_MICRO_BATCHES = 6;

/**
 * What the sentences of a token-weighted check need beyond its findings: K, the ranks and each
 * sample's loss tokens. Sentences take null for a sample-weighted check and keep their words.
 */
export interface TokenWeighting {
  accumulation: number;
  worldSize: number;
  /** lossTokens[i]: the loss tokens of sample i. */
  lossTokens: readonly number[];
}

/** A check's token weighting; null under sample weighting. */
export function tokenWeightingOf(check: CheckOutcome): TokenWeighting | null {
  const s = check.scenario;
  if (s.weighting !== "tokens") return null;
  const judged = check.verdict === "error" ? undefined : check.weights.lossTokens;
  return {
    accumulation: s.accumulation,
    worldSize: s.worldSize,
    lossTokens: judged ?? lossTokenCounts(s),
  };
}

/** "1 loss token", "3 loss tokens". */
export function lossTokenWord(count: number): string {
  return plural(count, "loss token");
}

/** The smallest and the largest of some numbers, without spreading a long list into arguments. */
function extremes(values: readonly number[]): [number, number] {
  return values.reduce<[number, number]>(
    ([low, high], v) => [Math.min(low, v), Math.max(high, v)],
    [Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY],
  );
}

/** The fewest and the most loss tokens a group's samples hold. */
function groupLossTokens(group: WeightGroup, tokens: TokenWeighting): [number, number] {
  return extremes(sampleIds(group.samples).map((i) => tokens.lossTokens[i] ?? 0));
}

/** A group's loss tokens: "1 loss token", "2 loss tokens each", "1–3 loss tokens". */
export function groupTokensText(group: WeightGroup, tokens: TokenWeighting): string {
  const [fewest, most] = groupLossTokens(group, tokens);
  if (fewest !== most) return `${fewest}–${most} loss tokens`;
  return group.samples.count === 1 ? lossTokenWord(fewest) : `${lossTokenWord(fewest)} each`;
}

/** A group's expected weight as n_i/T_W, "2/3", with T_W its window's loss tokens; null when its samples hold unequal counts. */
export function tokenFraction(group: WeightGroup, tokens: TokenWeighting): string | null {
  const [n, most] = groupLossTokens(group, tokens);
  if (n !== most || !(group.expected > 0)) return null;
  const share = formatShare(n, group.expected);
  return share.includes("/") ? share : null;
}

/**
 * A group's expected weight n_i/T_W in words: "1/3 (1 of its window's 3 loss tokens)"; for a
 * group without loss tokens, that none was due; null for samples due weight in no window.
 */
export function tokenShareText(group: WeightGroup, tokens: TokenWeighting): string | null {
  const one = group.samples.count === 1;
  const [n, most] = groupLossTokens(group, tokens);
  if (most === 0) return `0 (${one ? "it has" : "they have"} no loss tokens)`;
  if (group.expected === 0) return null;
  const fraction = tokenFraction(group, tokens);
  if (fraction === null) return formatWeight(group.expected);
  const total = Math.round(n / group.expected);
  return `${fraction} (${n} of ${one ? "its" : "their"} window's ${lossTokenWord(total)})`;
}

/** "micro-batch 2", or "rank 1's micro-batch 2" across ranks. */
export function microBatchName(mb: MicroBatchRef, ranks: number): string {
  return `${ranks > 1 ? `rank ${mb.rank}'s ` : ""}micro-batch ${nth(mb.position)}`;
}

/** "micro-batch 1 holds 1 sample with 1 loss token". */
function microBatchPart(mb: MicroBatchRef, ranks: number): string {
  return `${microBatchName(mb, ranks)} holds ${plural(mb.samples, "sample")} with ${lossTokenWord(mb.units)}`;
}

/**
 * The weight the finding's loss scaling gave each micro-batch's mean over its loss tokens, and
 * why ("divided by K = 2"); null when no common scaling explains the step.
 */
export function microBatchScaling(
  finding: StepWeights,
  tokens: TokenWeighting,
): { weightOf: (mb: MicroBatchRef) => number; how: string } | null {
  const { worldSize: w, accumulation: k } = tokens;
  const ranks = w > 1 ? ` and averaged over ${w} ranks` : "";
  const perRank = (rank: number) => finding.microBatches.filter((mb) => mb.rank === rank).length;
  switch (finding.explainedBy) {
    case "divided-by-k":
      return { weightOf: () => 1 / (w * k), how: `divided by K = ${k}${ranks}` };
    case "micro-batch-mean": {
      const counts = [...new Set(finding.microBatches.map((mb) => perRank(mb.rank)))];
      const how =
        counts.length === 1 && counts[0] === k
          ? `divided by K = ${k}, the window's micro-batches${w > 1 ? "," : ""}`
          : `divided by the window's ${counts.length === 1 ? `${counts[0]} ` : ""}micro-batches`;
      return { weightOf: (mb) => 1 / (w * perRank(mb.rank)), how: `${how}${ranks}` };
    }
    case "not-divided":
      return { weightOf: () => 1 / w, how: `never divided${ranks}` };
    case "per-rank-count": {
      const rankUnits = (rank: number) =>
        finding.microBatches.filter((mb) => mb.rank === rank).reduce((n, mb) => n + mb.units, 0);
      return {
        weightOf: (mb) => mb.units / (w * rankUnits(mb.rank)),
        how: `divided by its rank's own loss tokens in the window${ranks}`,
      };
    }
    case "summed":
      return {
        weightOf: (mb) => mb.units / w,
        how: `summed over its loss tokens, never divided${ranks}`,
      };
    case null:
      return null;
  }
}

/** "1/2", or "1/3 to 1/2" when the micro-batches got different weights. */
function weightRange(weights: readonly number[]): string {
  const [low, high] = extremes(weights);
  return high - low <= 1e-9 * high
    ? formatWeight(high)
    : `${formatWeight(low)} to ${formatWeight(high)}`;
}

/**
 * What a loss token of each micro-batch weighed against what every loss token of the window
 * should: the over-weighted tokens of shorter micro-batches, or one wrong weight for all.
 */
function tokenConsequence(
  finding: StepWeights,
  weightOf: (mb: MicroBatchRef) => number,
  ranks: number,
): string {
  const withTokens = finding.microBatches.filter((mb) => mb.units > 0);
  const perToken = withTokens.map((mb) => ({ mb, weight: weightOf(mb) / mb.units }));
  const first = perToken[0];
  if (!first) return "";
  const heaviest = perToken.reduce((a, b) => (b.weight > a.weight ? b : a), first);
  const lightest = perToken.reduce((a, b) => (b.weight < a.weight ? b : a), first);
  const due =
    finding.window && finding.window.units > 0
      ? `, where every loss token of the window should weigh ${formatWeight(1 / finding.window.units)}`
      : "";
  if (heaviest.weight - lightest.weight <= 1e-9 * heaviest.weight)
    return due === "" ? "" : `, so every loss token weighed ${formatWeight(heaviest.weight)}${due}`;
  const at = (t: { mb: MicroBatchRef; weight: number }) =>
    `${formatWeight(t.weight)} in ${microBatchName(t.mb, ranks)} (${lossTokenWord(t.mb.units)})`;
  return `, which over-weights the loss tokens of shorter micro-batches: a loss token weighed ${at(heaviest)} and ${at(lightest)}${due}`;
}

/**
 * A failed step's window under token weighting, micro-batch by micro-batch with their loss
 * tokens, and what its loss scaling made of them: "window 1 of epoch 1: micro-batch 1 holds 1
 * sample with 1 loss token, micro-batch 2 holds 1 sample with 2 loss tokens; each micro-batch's
 * mean over its loss tokens was weighted 1/2 (divided by K = 2), which over-weights ...". Empty
 * without a matched window.
 */
export function microBatchesClause(finding: StepWeights, tokens: TokenWeighting): string {
  const window = finding.window;
  if (!window || finding.microBatches.length === 0) return "";
  const ranks = tokens.worldSize;
  const listed = finding.microBatches.slice(0, LISTED_MICRO_BATCHES);
  const rest = finding.microBatches.slice(LISTED_MICRO_BATCHES);
  const more =
    rest.length > 0
      ? ` and ${plural(rest.length, "more micro-batch", "more micro-batches")} with ${lossTokenWord(rest.reduce((n, mb) => n + mb.units, 0))}`
      : "";
  const holds = `window ${nth(window.index)} of epoch ${nth(window.epoch)}: ${listed.map((mb) => microBatchPart(mb, ranks)).join(", ")}${more}`;
  const scaling = microBatchScaling(finding, tokens);
  if (!scaling) return holds;
  const weights = finding.microBatches.map(scaling.weightOf);
  return (
    `${holds}; each micro-batch's mean over its loss tokens was weighted ${weightRange(weights)} (${scaling.how})` +
    tokenConsequence(finding, scaling.weightOf, ranks)
  );
}
