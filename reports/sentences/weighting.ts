import type { WeightGroup, WeightingFinding, WeightingResult } from "../../properties/outcome.js";
import { largestWindowWithDetectableOffByOne } from "../../properties/tolerance.js";
import { formatNumber, formatSampleSet, formatWeight, nth, plural, stepName } from "../words.js";

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

/** "sample 96 of epoch 1" or "14 samples of epoch 1 (96–109)". */
export function groupSamples(group: WeightGroup): string {
  if (group.samples.count === 1)
    return `sample ${group.samples.ranges[0]?.[0]} of epoch ${nth(group.epoch)}`;
  return `${plural(group.samples.count, "sample")} of epoch ${nth(group.epoch)} (${formatSampleSet(group.samples, 4)})`;
}

/** What the weights of a group should have been: "their 14-sample window should give 1/14". */
function expectedPart(group: WeightGroup): string {
  const whose = group.samples.count === 1 ? "its" : "their";
  if (group.expected === 0)
    return `${group.samples.count === 1 ? "it belongs" : "they belong"} to no window`;
  const size = Math.round(1 / group.expected);
  return `${whose} ${size}-sample window should give ${formatWeight(group.expected)}`;
}

/** The smallest weighting error a tolerance detects, in words. */
export function detectionNote(tolerance: number): string {
  return `detects weight errors above ${formatNumber(tolerance)} (an off-by-one sample count in windows of up to ${largestWindowWithDetectableOffByOne(tolerance).toLocaleString("en-US")} samples)`;
}

/**
 * Weighting in one line: how close every applied weight came to 1/|W| and what the tolerance
 * detects, or the step and samples furthest off with their weight against the expected one,
 * and the body gradient's error when it is beyond its tolerance.
 */
export function weightingMessage(result: WeightingResult): string {
  if (result.ok) {
    const body =
      result.bodyMaxRelError === null
        ? ""
        : `, body within ${formatNumber(result.bodyMaxRelError)} of the oracle`;
    if (result.weightedSteps === 0) return "not applicable: no step applied any weight";
    return `every applied weight within ${formatNumber(result.maxRelError)} of 1/|W|${body}; ${detectionNote(result.tolerance)}`;
  }
  const parts: string[] = [];
  const steps = stepFindings(result);
  const worst = steps.reduce<StepWeights | undefined>(
    (w, f) => (!w || f.relError > w.relError ? f : w),
    undefined,
  );
  const group = worst && worstGroup(worst);
  if (worst && group) {
    const others = steps.length > 1 ? ` (${steps.length} steps off)` : "";
    parts.push(
      `${stepName(worst.step, worst.epoch)} gave ${groupSamples(group)} weight ${formatWeight(group.weight)}; ${expectedPart(group)}: relative error ${formatNumber(group.relError)} > tolerance ${formatNumber(result.tolerance)}${others}`,
    );
  }
  if (result.bodyMaxRelError !== null && result.bodyWorstStep !== null)
    if (!(result.bodyMaxRelError <= result.bodyTolerance))
      parts.push(
        `body gradient of step ${nth(result.bodyWorstStep)} is off the float64 oracle by relative error ${formatNumber(result.bodyMaxRelError)} > tolerance ${formatNumber(result.bodyTolerance)}`,
      );
  return parts.join("; ");
}
