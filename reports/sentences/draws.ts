/**
 * The sentences of a run that draws with replacement: no epochs, a window per K drawn
 * micro-batches, and every count in draws (a sample drawn twice counts twice).
 */
import type {
  CheckJudgement,
  CoverageFinding,
  CoverageResult,
  WeightGroup,
  WeightingResult,
  WindowingResult,
} from "../../properties/outcome.js";
import { mergeSampleSets } from "../../properties/sample-set.js";
import { largestWindowWithDetectableOffByOne } from "../../properties/tolerance.js";
import type { Scenario } from "../../trainers/contract/scenario.js";
import {
  formatList,
  formatNumber,
  formatSampleSet,
  formatWeight,
  nth,
  plural,
  positionRange,
  wasWere,
} from "../words.js";
import { nonFiniteMessage } from "./non-finite.js";
import { updatesMessage } from "./updates.js";
import { stepFindings, worstGroup } from "./weighting.js";
import { windowingFindings } from "./windowing.js";

type LostDraws = Extract<CoverageFinding, { kind: "lost-draws" }>;
type DuplicatedDraws = Extract<CoverageFinding, { kind: "duplicated-draws" }>;

/** Findings of a draw coverage result, one kind. */
function drawFindings<K extends "lost-draws" | "duplicated-draws">(
  result: CoverageResult,
  kind: K,
): Array<Extract<CoverageFinding, { kind: K }>> {
  return result.findings.filter((f): f is Extract<CoverageFinding, { kind: K }> => f.kind === kind);
}

/** "steps 2 and 3": applied steps numbered from 1. */
export function stepsWord(steps: readonly number[]): string {
  return `${steps.length === 1 ? "step" : "steps"} ${formatList(steps.map((s) => String(nth(s))))}`;
}

/** "12 draws of window 5 never applied (samples 3, 7 and 8 more)", "... in skipped step 6". */
export function lostDrawsText(f: LostDraws): string {
  const skipped = f.skippedStep === null ? "" : `: step ${nth(f.skippedStep)} was skipped`;
  return `${plural(f.draws, "draw")} of window ${nth(f.window)} never applied (samples ${formatSampleSet(f.samples, 4)})${skipped}`;
}

/** "9 draws of window 2 applied by steps 2 and 3 (samples ...)". */
export function duplicatedDrawsText(f: DuplicatedDraws): string {
  return `${plural(f.draws, "draw")} of window ${nth(f.window)} applied by ${stepsWord(f.steps)} (samples ${formatSampleSet(f.samples, 4)})`;
}

/**
 * One window's findings of a kind as one: draws summed, samples merged; duplicated draws applied
 * by different sets of steps read "applied by two or more of steps ...".
 */
function windowTexts(result: CoverageResult): string[] {
  const texts: string[] = [];
  const windows = [...new Set(result.findings.flatMap((f) => ("window" in f ? [f.window] : [])))];
  for (const window of windows.sort((a, b) => a - b)) {
    const lost = drawFindings(result, "lost-draws").filter((f) => f.window === window);
    const [firstLost] = lost;
    if (firstLost)
      texts.push(
        lostDrawsText({
          ...firstLost,
          draws: lost.reduce((n, f) => n + f.draws, 0),
          samples: mergeSampleSets(lost.map((f) => f.samples)),
          skippedStep: lost.find((f) => f.skippedStep !== null)?.skippedStep ?? null,
        }),
      );
    const twice = drawFindings(result, "duplicated-draws").filter((f) => f.window === window);
    if (twice.length === 0) continue;
    const steps = [...new Set(twice.flatMap((f) => f.steps))].sort((a, b) => a - b);
    const same = twice.every((f) => f.steps.length === steps.length);
    const draws = twice.reduce((n, f) => n + f.draws, 0);
    const samples = formatSampleSet(mergeSampleSets(twice.map((f) => f.samples)), 4);
    texts.push(
      `${plural(draws, "draw")} of window ${nth(window)} applied by ${same ? "" : "two or more of "}${stepsWord(steps)} (samples ${samples})`,
    );
  }
  return texts;
}

/** Most findings a message names; the rest are counted. */
const SHOWN = 3;

/**
 * Coverage in one line: "every draw applied exactly once (60 draws)", or how many draws of the
 * scenario's windows were applied once, then, window by window, draws lost or applied twice.
 */
export function drawCoverageMessage(result: CoverageResult, scenario: Scenario): string {
  const counts = result.epochs[0];
  const windows = plural(scenario.steps ?? 0, "window");
  if (result.ok)
    return `every draw applied exactly once (${plural(counts?.expected ?? 0, "draw")})`;
  const parts = windowTexts(result);
  const more = parts.length > SHOWN ? ` (and ${plural(parts.length - SHOWN, "more window")})` : "";
  const head = `${counts?.applied ?? 0} of ${plural(counts?.expected ?? 0, "draw")} of the ${windows} applied exactly once`;
  return `${head}; ${parts.slice(0, SHOWN).join("; ")}${more}`;
}

/**
 * Windowing in one line: the applied steps, one per K drawn micro-batches, or the step count
 * against `steps`, the windows never drawn, the micro-batches drawn beyond them, the first window
 * its step does not hold exactly, and the first micro-batch of the wrong size.
 */
export function drawWindowingMessage(result: WindowingResult, scenario: Scenario): string {
  const k = plural(scenario.accumulation, "drawn micro-batch", "drawn micro-batches");
  if (result.ok) {
    const redone =
      result.skippedSteps > 0 ? `; ${plural(result.skippedSteps, "skipped step")} redone` : "";
    return `${plural(result.appliedSteps, "applied step")}, one per window of ${k}${redone}`;
  }
  const parts: string[] = [];
  for (const f of windowingFindings(result, "step-count"))
    parts.push(
      `expected ${plural(f.expected, "applied step")} (one per window of ${k}), saw ${f.applied}`,
    );
  for (const f of windowingFindings(result, "unproduced-windows")) {
    const windows = f.windows[1] - f.windows[0] + 1;
    parts.push(
      `${plural(windows, "window")} not drawn in full: the run drew ${plural(f.producedMicroBatches, "micro-batch", "micro-batches")} of the scenario's ${f.producedMicroBatches + f.microBatches}`,
    );
  }
  for (const f of windowingFindings(result, "extra-draws")) {
    const applied = f.steps.length > 0 ? `; ${stepsWord(f.steps)} applied some` : "";
    parts.push(
      `${positionRange(f.microBatches[0], f.microBatches[1], "micro-batch", "micro-batches")} (${plural(f.draws, "draw")}) drawn beyond the scenario's ${plural(scenario.steps ?? 0, "step")}${applied}`,
    );
  }
  const unmatched = windowingFindings(result, "unmatched-window");
  const m = unmatched[0];
  if (m) {
    const held =
      m.step === null
        ? "no applied step is due it"
        : `step ${nth(m.step)} holds ${m.sharedSamples} of them among ${m.stepSamples}`;
    const more = unmatched.length > 1 ? ` (${plural(unmatched.length, "window")} differ)` : "";
    parts.push(
      `window ${nth(m.window)} (${positionRange(m.microBatches[0], m.microBatches[1], "micro-batch", "micro-batches")}, ${plural(m.expectedSamples, "sample")}) is not one applied step: ${held}${more}`,
    );
  }
  const irregular = windowingFindings(result, "irregular-micro-batch")[0];
  if (irregular)
    parts.push(
      `micro-batch ${nth(irregular.position)} holds ${plural(irregular.size, "draw")}, expected ${scenario.batchSize}`,
    );
  return parts.join("; ");
}

/** What a weight is held to under replacement. */
function dueName(tokens: boolean): string {
  return tokens
    ? "(draws of i) x n_i / T_W (its draws' loss tokens over its window's)"
    : "(draws of i) / |W| (its draws over its window's)";
}

/** "sample 5" or "12 samples (0–3, 7)". */
function groupWords(group: WeightGroup): string {
  return group.samples.count === 1
    ? `sample ${group.samples.ranges[0]?.[0]}`
    : `${plural(group.samples.count, "sample")} (${formatSampleSet(group.samples, 4)})`;
}

/**
 * Weighting in one line: how close every applied weight came to its draws' share of their
 * window and what the tolerance detects, or the step and samples furthest off, and the body.
 */
export function drawWeightingMessage(result: WeightingResult, scenario: Scenario): string {
  const tokens = scenario.weighting === "tokens";
  if (result.ok) {
    if (result.weightedSteps === 0) return "not applicable: no step applied any weight";
    const body =
      result.bodyMaxRelError === null
        ? ""
        : `, body within ${formatNumber(result.bodyMaxRelError)} of the oracle`;
    const unit = tokens ? "loss-token" : "draw";
    return `every applied weight within ${formatNumber(result.maxRelError)} of ${dueName(tokens)}${body}; detects weight errors above ${formatNumber(result.tolerance)} (an off-by-one ${unit} count in windows of up to ${largestWindowWithDetectableOffByOne(result.tolerance).toLocaleString("en-US")} ${tokens ? "loss tokens" : "draws"})`;
  }
  const nonFinite = nonFiniteMessage(result);
  if (nonFinite) return nonFinite;
  const parts: string[] = [];
  const steps = stepFindings(result);
  const worst = steps.reduce<(typeof steps)[number] | undefined>(
    (w, f) => (!w || f.relError > w.relError ? f : w),
    undefined,
  );
  const group = worst && worstGroup(worst);
  if (worst && group) {
    const due =
      group.expected === 0
        ? `no draw of ${group.samples.count === 1 ? "it" : "them"} fed before the step is due a weight`
        : `${group.samples.count === 1 ? "its" : "their"} draws are due ${formatWeight(group.expected)}`;
    const others = steps.length > 1 ? ` (${steps.length} steps off)` : "";
    parts.push(
      `step ${nth(worst.step)} gave ${groupWords(group)} weight ${formatWeight(group.weight)}; ${due}: relative error ${formatNumber(group.relError)} > tolerance ${formatNumber(result.tolerance)}${others}`,
    );
  }
  if (result.bodyMaxRelError !== null && result.bodyWorstStep !== null)
    if (!(result.bodyMaxRelError <= result.bodyTolerance))
      parts.push(
        `body gradient of step ${nth(result.bodyWorstStep)} is off the float64 oracle over its window's draws by relative error ${formatNumber(result.bodyMaxRelError)} > tolerance ${formatNumber(result.bodyTolerance)}`,
      );
  const updates = updatesMessage(result, scenario);
  if (updates) parts.push(updates);
  return parts.join("; ");
}

/** "With 50 samples drawn with replacement, micro-batches of 4 draws and 3 micro-batches per window over 5 steps, T". */
function drawScenarioSentence(c: CheckJudgement): string {
  const s = c.scenario;
  const options = [
    s.precision !== "fp32" ? s.precision : "",
    s.weighting === "tokens" ? "weighted by loss tokens" : "",
  ].filter(Boolean);
  return (
    `With ${plural(s.datasetSize, "sample")} drawn with replacement, micro-batches of ${plural(s.batchSize, "draw")} and ` +
    `${plural(s.accumulation, "micro-batch", "micro-batches")} per window over ${plural(s.steps ?? 0, "step")}` +
    `${options.length > 0 ? ` (${options.join(", ")})` : ""}, ${c.trainer}`
  );
}

/**
 * A check of a run that draws with replacement in one paragraph: what it applied against what
 * the draws were due, the windows whose draws were lost or applied twice, and the steps.
 */
export function explainDraws(c: CheckJudgement): string {
  const { coverage, weighting: w, windowing } = c.properties;
  const tokens = c.scenario.weighting === "tokens";
  if (c.verdict === "pass") {
    const body =
      w.bodyMaxRelError === null
        ? ""
        : ` The body gradient matched the float64 oracle over each window's draws within ${formatNumber(w.bodyMaxRelError)} relative (tolerance ${formatNumber(w.bodyTolerance)}).`;
    return (
      `${drawScenarioSentence(c)} applied every draw exactly once, in one step per window of K drawn micro-batches, ` +
      `with weights within ${formatNumber(w.maxRelError)} relative of ${dueName(tokens)} (tolerance ${formatNumber(w.tolerance)}).${body}`
    );
  }
  const sentences: string[] = [];
  if (windowing.appliedSteps === 0)
    sentences.push(
      `It applied no optimizer step at all, so none of its draws reached an update; ${plural(windowing.expectedSteps, "step")} ${wasWere(windowing.expectedSteps)} expected.`,
    );
  else {
    if (!w.ok) sentences.push(`Weighting: ${drawWeightingMessage(w, c.scenario)}.`);
    if (!coverage.ok) sentences.push(`Coverage: ${drawCoverageMessage(coverage, c.scenario)}.`);
    if (!windowing.ok) sentences.push(`Windowing: ${drawWindowingMessage(windowing, c.scenario)}.`);
  }
  return `${drawScenarioSentence(c)} failed. ${sentences.join(" ")}`.trim();
}
