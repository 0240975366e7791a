import type { LossScaling, StepAnalysis, WeightingFinding } from "../../properties/outcome.js";
import { TOLERANCES } from "../../properties/tolerance.js";
import {
  groupTokensText,
  type TokenWeighting,
  tokenWeightingOf,
} from "../sentences/loss-tokens.js";
import { expectedPart, groupSamples, stepFindings, worstGroup } from "../sentences/weighting.js";
import { formatNumber, formatWeight, plural } from "../words.js";
import type { Evidence, Mistake, MistakeId } from "./catalogue.js";
import { type RunReading, stepHolding, stepWord } from "./reading.js";

type StepWeights = Extract<WeightingFinding, { kind: "step-weights" }>;

/** The mistake each loss scaling is. */
const SCALING_MISTAKES: Record<LossScaling, MistakeId> = {
  "divided-by-k": "tail-divided-by-k",
  "micro-batch-mean": "micro-batch-mean",
  "not-divided": "loss-not-divided",
  "per-rank-count": "per-rank-count",
  summed: "loss-not-divided",
};

/** How a loss scaling made the weights, in words. */
function scalingWords(finding: StepWeights, r: RunReading, tokens: boolean): string {
  const mean = tokens ? "mean over its loss tokens" : "mean";
  const ranks = r.check.scenario.worldSize;
  const averaged = ranks > 1 ? `, averaged over ${ranks} ranks` : "";
  const perRank = finding.microBatches.filter((mb) => mb.rank === 0).length;
  switch (finding.explainedBy) {
    case "divided-by-k":
      return `each micro-batch's ${mean} divided by K = ${r.k}${averaged}`;
    case "micro-batch-mean":
      return perRank === r.k
        ? `each micro-batch's ${mean} divided by ${perRank}, the window's micro-batches (and K)${averaged}`
        : `each micro-batch's ${mean} divided by the window's ${plural(perRank, "micro-batch", "micro-batches")}${averaged}`;
    case "not-divided":
      return `each micro-batch's ${mean}, never divided${averaged}`;
    case "per-rank-count":
      return `each rank's ${tokens ? "loss tokens" : "samples"} divided by that rank's own count in the window${averaged}`;
    case "summed":
      return `every ${tokens ? "loss token's" : "sample's"} loss summed, never divided${averaged}`;
    default:
      return "";
  }
}

/** "step 4 (micro-batches 13–14 of epoch 1 and 1–4 of epoch 2)". */
function stepWhere(finding: StepWeights, r: RunReading): string {
  const step = r.check.steps[finding.step];
  return step ? stepHolding(step) : stepWord(finding.step);
}

/** What the step's furthest-off samples got and were due. */
function weightsWords(finding: StepWeights, tokens: TokenWeighting | null): string {
  const group = worstGroup(finding);
  if (!group) return "";
  const samples = groupSamples(group, tokens ? groupTokensText(group, tokens) : undefined);
  return `gave ${samples} weight ${formatWeight(group.weight)}; ${expectedPart(group, tokens)}`;
}

function evidenceOf(finding: StepWeights, shows: string): Evidence {
  const range = finding.microBatches.filter((mb) => mb.rank === 0).map((mb) => mb.position);
  return {
    step: finding.step,
    epoch: finding.window?.epoch ?? finding.epoch,
    ...(finding.window ? { window: finding.window.index } : {}),
    ...(range.length > 0
      ? { microBatches: [Math.min(...range), Math.max(...range)] as [number, number] }
      : {}),
    shows,
  };
}

/**
 * Steps whose every weight one common loss scaling gives (a micro-batch mean divided by K, by the
 * window's micro-batches, never divided, or by each rank's own count), one mistake per scaling;
 * not a step that weighted what it holds as one batch (its scaling is right, its samples are not
 * one window).
 */
export function lossScalings(r: RunReading): Mistake[] {
  const tokens = tokenWeightingOf(r.check);
  const byMistake = new Map<MistakeId, StepWeights[]>();
  for (const finding of stepFindings(r.check.properties.weighting)) {
    // A step that weighted what it holds as one batch has its loss scaled right: what it holds is off.
    if (finding.explainedBy === null || r.check.steps[finding.step]?.ownBatch) continue;
    const id = SCALING_MISTAKES[finding.explainedBy];
    byMistake.set(id, [...(byMistake.get(id) ?? []), finding]);
  }
  return [...byMistake].map(([id, findings]) => ({
    id,
    evidence: findings.map((f) =>
      evidenceOf(
        f,
        `${stepWhere(f, r)} ${weightsWords(f, tokens)}: ${scalingWords(f, r, tokens !== null)}`,
      ),
    ),
    explains: { steps: findings.map((f) => f.step) },
  }));
}

/**
 * Steps that applied their window whole, with every weight (and the body gradient) one multiple
 * of what was due: the step's gradient was scaled as a whole, as clipping to a global norm does.
 */
export function scaledSteps(r: RunReading): Mistake | null {
  const { weighting } = r.check.properties;
  const slack = 2 * Math.max(weighting.tolerance, weighting.bodyTolerance);
  const scaled: Array<{ finding: StepWeights; factor: number }> = [];
  for (const finding of stepFindings(weighting)) {
    const step = r.check.steps[finding.step];
    const factor = step?.weightFactor;
    if (!step || finding.explainedBy !== null || factor === null || factor === undefined) continue;
    if (!r.isOneWholeWindow(step)) continue;
    // A step that was due clipping and applied its gradient unclipped is clip-missing's.
    if (step.clipFactor < 1 && Math.abs(factor * step.clipFactor - 1) <= slack) continue;
    const hasBody = r.check.scenario.model !== "fingerprint";
    if (
      hasBody &&
      (step.bodyFactor === null || Math.abs(step.bodyFactor - factor) > slack * Math.abs(factor))
    )
      continue;
    scaled.push({ finding, factor });
  }
  if (scaled.length === 0) return null;
  const body = r.check.scenario.model === "fingerprint" ? "" : " and its body gradient";
  const evidence = scaled.map(({ finding, factor }) =>
    evidenceOf(
      finding,
      `${stepWhere(finding, r)} applied its whole window, every weight${body} ${formatNumber(factor)} times what was due`,
    ),
  );
  const factors = scaled.map((s) => s.factor);
  const [low, high] = [Math.min(...factors), Math.max(...factors)];
  evidence.unshift({
    shows:
      high - low <= slack * Math.abs(high)
        ? `the same factor ${formatNumber(low)} at ${plural(scaled.length, "such step")}: a constant factor in the loss or the gradient`
        : high < 1
          ? `the factor differs from step to step (${formatNumber(low)} to ${formatNumber(high)}) and stays below 1, as clipping to a global norm gives`
          : `the factor differs from step to step (${formatNumber(low)} to ${formatNumber(high)})`,
  });
  return {
    id: "scaled-step",
    evidence,
    explains: { steps: scaled.map((s) => s.finding.step) },
  };
}

/**
 * Steps whose weights are exact while the body gradient is off by about what a lower precision's
 * rounding gives (no more than bf16's body tolerance): the body ran in another precision than
 * the one the check holds it to.
 */
export function bodyPrecision(r: RunReading): Mistake | null {
  const { weighting } = r.check.properties;
  const weightsOff = new Set(stepFindings(weighting).map((f) => f.step));
  const limit = TOLERANCES.bf16.body;
  const off = weighting.findings.filter(
    (f): f is Extract<WeightingFinding, { kind: "body-gradient" }> =>
      f.kind === "body-gradient" &&
      !weightsOff.has(f.step) &&
      f.relError <= limit &&
      (r.check.steps[f.step]?.weightFactor ?? null) === 1 &&
      r.isOneWholeWindow(r.check.steps[f.step] as StepAnalysis) &&
      !isScaled(r.check.steps[f.step]?.bodyFactor ?? null, weighting.bodyTolerance),
  );
  if (off.length === 0) return null;
  const ran = r.check.trainerInfo?.precision ?? r.check.scenario.precision;
  const evidence: Evidence[] = off.map((f) => ({
    step: f.step,
    epoch: f.epoch,
    shows: `${stepWord(f.step)} gave every sample its due weight, but its body gradient is off the float64 oracle by ${formatNumber(f.relError)} (tolerance ${formatNumber(weighting.bodyTolerance)} for ${ran})`,
  }));
  evidence.push({
    shows: `errors up to ${formatNumber(Math.max(...off.map((f) => f.relError)))}, within what bf16 or fp16 rounding gives (${formatNumber(TOLERANCES.fp16.body)} to ${formatNumber(limit)}), far above ${ran}'s`,
  });
  return { id: "body-precision", evidence, explains: { steps: off.map((f) => f.step) } };
}

/** Whether a body factor says the body gradient was scaled (by more than the tolerance). */
function isScaled(factor: number | null, tolerance: number): boolean {
  return factor !== null && Math.abs(factor - 1) > 2 * tolerance;
}
