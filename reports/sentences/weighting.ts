import type { WeightGroup, WeightingFinding, WeightingResult } from "../../properties/outcome.js";
import { largestWindowWithDetectableOffByOne } from "../../properties/tolerance.js";
import { formatNumber, formatSampleSet, formatWeight, nth, plural, stepName } from "../words.js";
import {
  groupTokensText,
  microBatchesClause,
  type TokenWeighting,
  tokenShareText,
} from "./loss-tokens.js";
import { nonFiniteMessage } from "./non-finite.js";
import { updatesMessage } from "./updates.js";

type StepWeights = Extract<WeightingFinding, { kind: "step-weights" }>;

/** The step findings of a weighting result. */
export function stepFindings(result: WeightingResult): StepWeights[] {
  return result.findings.filter((f): f is StepWeights => f.kind === "step-weights");
}

/** The group of a step that is furthest off. */
export function worstGroup(finding: StepWeights): WeightGroup | undefined {
  return finding.groups.reduce<WeightGroup | undefined>(
    (worst, g) => (!worst || g.relError > worst.relError ? g : worst),
    undefined,
  );
}

/**
 * "sample 96 of epoch 1" or "14 samples of epoch 1 (96–109)"; `note` joins the parenthesis:
 * "sample 0 of epoch 1 (1 loss token)", "2 samples of epoch 1 (0–1; 2 loss tokens each)".
 */
export function groupSamples(group: WeightGroup, note?: string): string {
  if (group.samples.count === 1)
    return `sample ${group.samples.ranges[0]?.[0]} of epoch ${nth(group.epoch)}${note ? ` (${note})` : ""}`;
  return `${plural(group.samples.count, "sample")} of epoch ${nth(group.epoch)} (${formatSampleSet(group.samples, 4)}${note ? `; ${note}` : ""})`;
}

/**
 * What the weights of a group should have been: "their 14-sample window should give 1/14";
 * under token weighting "token weighting gives it 1/3 (1 of its window's 3 loss tokens)".
 */
export function expectedPart(group: WeightGroup, tokens: TokenWeighting | null): string {
  const one = group.samples.count === 1;
  const share = tokens ? tokenShareText(group, tokens) : null;
  if (group.expected === 0 && share === null)
    return `${one ? "it belongs" : "they belong"} to no window`;
  if (share !== null) return `token weighting gives ${one ? "it" : "each"} ${share}`;
  const size = Math.round(group.clip / group.expected);
  const clipped = group.clip < 1 ? `, clipped by ${formatNumber(group.clip)},` : "";
  return `${one ? "its" : "their"} ${size}-sample window${clipped} should give ${formatWeight(group.expected)}`;
}

/** What a weight is held to: 1/|W|, or n_i/T_W under token weighting. */
export function expectedWeightName(tokens: TokenWeighting | null): string {
  return tokens ? "n_i/T_W (a sample's loss tokens over its window's)" : "1/|W|";
}

/** The smallest weighting error a tolerance detects, in words. */
export function detectionNote(tolerance: number, tokens: TokenWeighting | null = null): string {
  const unit = tokens ? "loss-token" : "sample";
  const units = tokens ? "loss tokens" : "samples";
  return `detects weight errors above ${formatNumber(tolerance)} (an off-by-one ${unit} count in windows of up to ${largestWindowWithDetectableOffByOne(tolerance).toLocaleString("en-US")} ${units})`;
}

/**
 * Weighting in one line: how close every applied weight came to 1/|W| (n_i/T_W under token
 * weighting) and what the tolerance detects, or the step and samples furthest off with their
 * weight against the expected one (under token weighting with the loss tokens of the samples
 * and of the window's micro-batches), and the body gradient's error when it is beyond its
 * tolerance, and what a step did to the parameters when it did not apply its gradient as due
 * (properties/updates.ts).
 */
export function weightingMessage(
  result: WeightingResult,
  tokens: TokenWeighting | null = null,
  worldSize = 1,
  clipNorm?: number,
): string {
  if (result.ok) {
    const body =
      result.bodyMaxRelError === null
        ? ""
        : `, body within ${formatNumber(result.bodyMaxRelError)} of the oracle`;
    if (result.weightedSteps === 0) return "not applicable: no step applied any weight";
    const clipped =
      clipNorm === undefined ? "" : ` (clipped once per step to norm ${formatNumber(clipNorm)})`;
    return `every applied weight within ${formatNumber(result.maxRelError)} of ${expectedWeightName(tokens)}${clipped}${body}; ${detectionNote(result.tolerance, tokens)}`;
  }
  const nonFinite = nonFiniteMessage(result);
  if (nonFinite) return nonFinite;
  const parts: string[] = [];
  const steps = stepFindings(result);
  const worst = steps.reduce<StepWeights | undefined>(
    (w, f) => (!w || f.relError > w.relError ? f : w),
    undefined,
  );
  const group = worst && worstGroup(worst);
  if (worst && group) {
    const others = steps.length > 1 ? ` (${steps.length} steps off)` : "";
    const samples = groupSamples(group, tokens ? groupTokensText(group, tokens) : undefined);
    parts.push(
      `${stepName(worst.step, worst.epoch)} gave ${samples} weight ${formatWeight(group.weight)}; ${expectedPart(group, tokens)}: relative error ${formatNumber(group.relError)} > tolerance ${formatNumber(result.tolerance)}${others}`,
    );
    const microBatches = tokens ? microBatchesClause(worst, tokens) : "";
    if (microBatches) parts.push(microBatches);
  }
  if (result.bodyMaxRelError !== null && result.bodyWorstStep !== null)
    if (!(result.bodyMaxRelError <= result.bodyTolerance))
      parts.push(
        `body gradient of step ${nth(result.bodyWorstStep)} is off the float64 oracle by relative error ${formatNumber(result.bodyMaxRelError)} > tolerance ${formatNumber(result.bodyTolerance)}`,
      );
  const updates = updatesMessage(result, { worldSize, sampling: "epochs" });
  if (updates) parts.push(updates);
  return parts.join("; ");
}
