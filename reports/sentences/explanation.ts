import {
  type CheckJudgement,
  type CheckOutcome,
  propertiesFor,
  type WeightGroup,
} from "../../properties/outcome.js";
import { MISTAKE_TITLES, mistakesOf } from "../advice.js";
import {
  formatChange,
  formatNumber,
  formatSampleSet,
  formatWeight,
  nth,
  plural,
  positionRange,
  stepName,
  wasWere,
} from "../words.js";
import { checkErrorMessage } from "./check-error.js";
import { findingsOf, ranksWord, samplesOf, totalOf } from "./coverage.js";
import { replicasMessage } from "./replicas.js";
import { stepFindings } from "./weighting.js";
import { windowingFindings } from "./windowing.js";

function scenarioSentence(c: CheckOutcome): string {
  const s = c.scenario;
  const options = [
    s.dropLast ? "drop_last on" : "",
    s.shuffle !== false ? `shuffled with seed ${s.shuffle}` : "",
    s.precision !== "fp32" ? s.precision : "",
  ].filter(Boolean);
  const ranks = s.worldSize > 1 ? ` on ${plural(s.worldSize, "rank")}` : "";
  const perRank = s.worldSize > 1 ? " per rank" : "";
  return (
    `With ${plural(s.datasetSize, "sample")}${ranks}, micro-batches of ${s.batchSize} and ` +
    `${plural(s.accumulation, "micro-batch", "micro-batches")}${perRank} per window over ${plural(s.epochs, "epoch")}` +
    `${options.length > 0 ? ` (${options.join(", ")})` : ""}, ${c.trainer}`
  );
}

/** "8 samples of epoch 1 (96–103) got weight 1/32 where sample-count weighting gives 1/14, so ..." */
function groupClause(g: WeightGroup, stepEpoch: number): string {
  const tag = g.epoch !== stepEpoch ? ` of epoch ${nth(g.epoch)}` : "";
  const update = g.samples.count === 1 ? "its update" : "their update";
  const consequence =
    g.expected === 0
      ? `${update} was applied where none was due`
      : g.weight === 0
        ? `${update} was left out`
        : `${update} was ${formatChange(g.weight, g.expected)} than it should have been`;
  return (
    `${plural(g.samples.count, "sample")}${tag} (${formatSampleSet(g.samples)}) got weight ` +
    `${formatWeight(g.weight)} where sample-count weighting gives ${formatWeight(g.expected)}, ` +
    `so ${consequence}`
  );
}

/**
 * Whether a step weighted its samples unequally, or equally but wrongly: equal weights that mix
 * two epochs, or that are not what their window gives each sample.
 */
function stepCharacter(groups: readonly WeightGroup[], spread: number, tolerance: number): string {
  const weights = groups.map((g) => g.weight);
  if (spread > tolerance)
    return `The step weighted its samples unequally: its largest weight is ${formatChange(Math.max(...weights), Math.min(...weights))} than its smallest.`;
  const each = `${formatWeight(weights[0] ?? 0)} each`;
  const epochs = [...new Set(groups.map((g) => nth(g.epoch)))];
  if (epochs.length > 1)
    return `Its weights are equal (${each}), but it mixed samples of epochs ${epochs.join(" and ")} in one step.`;
  const expected = groups[0]?.expected ?? 0;
  return expected > 0
    ? `Its weights are equal (${each}), but its samples' ${Math.round(1 / expected)}-sample window gives each ${formatWeight(expected)}.`
    : `Its weights are equal (${each}), but no weight was due.`;
}

function weightingSentences(c: CheckJudgement): string[] {
  const weighting = c.properties.weighting;
  const steps = stepFindings(weighting);
  const worst = steps.reduce<(typeof steps)[number] | undefined>(
    (w, f) => (!w || f.relError > w.relError ? f : w),
    undefined,
  );
  if (!worst) return [];
  const where = worst.window
    ? `, which the oracle matched to window ${nth(worst.window.index)} of epoch ${nth(worst.window.epoch)} (${plural(worst.window.size, "sample")})`
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
      .map((g) => groupClause(g, worst.epoch))
      .join("; ")}` +
      `${right === 1 ? "; the step's other sample got its expected weight" : ""}` +
      `${right > 1 ? `; the step's other ${plural(right, "sample")} got their expected weight` : ""}.`,
    stepCharacter(worst.groups, worst.spread, weighting.tolerance),
  ];
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

function bodySentences(c: CheckJudgement): string[] {
  const w = c.properties.weighting;
  if (w.bodyMaxRelError === null || w.bodyMaxRelError <= w.bodyTolerance) return [];
  const at = w.bodyWorstStep === null ? "" : ` (worst at step ${nth(w.bodyWorstStep)})`;
  return [
    `The body gradient differed from the float64 oracle by up to ${formatNumber(w.bodyMaxRelError)} ` +
      `relative${at}, against a tolerance of ${formatNumber(w.bodyTolerance)}.`,
  ];
}

function droppedSentences(c: CheckJudgement): string[] {
  const dropped = totalOf(c.properties.coverage, "dropped");
  return dropped > 0
    ? [
        `drop_last left out ${plural(dropped, "occurrence")} on purpose (by configuration, not a bug).`,
      ]
    : [];
}

function coverageSentences(c: CheckJudgement): string[] {
  const coverage = c.properties.coverage;
  const sentences: string[] = [];
  for (const e of coverage.epochs) {
    const ids = (kind: "leaked" | "lost") =>
      ` (${formatSampleSet(samplesOf(coverage, kind, e.epoch))})`;
    const parts: string[] = [];
    if (e.leaked > 0) {
      const named = findingsOf(coverage, "leaked", e.epoch)
        .slice(0, 4)
        .map((f) => stepName(f.step, f.stepEpoch));
      parts.push(`${plural(e.leaked, "sample")}${ids("leaked")} leaked into ${named.join(", ")}`);
    }
    if (e.lost > 0)
      parts.push(
        `${plural(e.lost, "sample")}${ids("lost")} ${wasWere(e.lost)} lost: no applied step used ${e.lost === 1 ? "it" : "them"}`,
      );
    for (const f of findingsOf(coverage, "duplicated", e.epoch))
      parts.push(
        f.likelyCause === "sampler-padding"
          ? `${plural(f.samples.count, "sample")} (${formatSampleSet(f.samples)}) ${wasWere(f.samples.count)} used twice, on ${ranksWord(f.seenOnRanks)}: the sampler padded a shard with ${f.samples.count === 1 ? "it" : "them"} so that every rank gets as many samples, and ${f.steps.length > 1 ? "the steps applied it again" : "the step gave it a second share of weight"}`
          : `${plural(f.samples.count, "sample")} (${formatSampleSet(f.samples)}) ${wasWere(f.samples.count)} applied more than once`,
      );
    if (parts.length > 0) sentences.push(`Epoch ${nth(e.epoch)}: ${parts.join("; ")}.`);
  }
  return [...sentences, ...droppedSentences(c)];
}

/** How many of a step's samples came from the window it was matched to. */
function sharedPart(shared: number, held: number): string {
  if (shared === held) return held === 1 ? "from this window" : "all from this window";
  return `${shared} of ${held === 1 ? "it" : "them"} from this window`;
}

function windowingSentences(c: CheckJudgement): string[] {
  const windowing = c.properties.windowing;
  if (windowing.ok) return [];
  const skipped = windowing.skippedSteps > 0 ? ` and skipped ${windowing.skippedSteps}` : "";
  const unmatched = windowingFindings(windowing, "unmatched-window");
  const first = unmatched[0];
  const example = first
    ? `; first, window ${nth(first.window)} of epoch ${nth(first.epoch)} (${positionRange(first.microBatches[0], first.microBatches[1], "micro-batch", "micro-batches")}, ${plural(first.expectedSamples, "sample")}) ` +
      (first.step === null
        ? "was in no applied step"
        : `best matches step ${nth(first.step)}, which holds ${plural(first.stepSamples, "sample")}, ${sharedPart(first.sharedSamples, first.stepSamples)}`)
    : "";
  return [
    `The trainer applied ${plural(windowing.appliedSteps, "step")}${skipped} where ` +
      `${plural(windowing.expectedSteps, "window")} ${wasWere(windowing.expectedSteps)} expected; ` +
      `${plural(unmatched.length, "window")} did not match any applied step${example}.`,
  ];
}

/**
 * A check in which no optimizer step was applied at all, said plainly: nothing reached an
 * update, whatever the per-epoch counts add up to.
 */
function noStepSentence(c: CheckJudgement): string | null {
  const windowing = c.properties.windowing;
  if (windowing.appliedSteps > 0) return null;
  const s = c.scenario;
  const skipped =
    windowing.skippedSteps > 0
      ? ` (it skipped ${plural(windowing.skippedSteps, "step")}, as mixed precision does on an overflow)`
      : "";
  const when = s.epochs === 1 ? "" : ` in any of the ${s.epochs} epochs`;
  const outcome =
    s.datasetSize === 1
      ? `its only sample never reached an update${when}`
      : `none of its ${plural(s.datasetSize, "sample")} ever reached an update${when}`;
  return (
    `applied no optimizer step at all${skipped}, so ${outcome}; ` +
    `${plural(windowing.expectedSteps, "step")} ${wasWere(windowing.expectedSteps)} expected, one per window.`
  );
}

/**
 * The one short sentence an explanation leads with: whether the trainer holds, what it fails
 * and, for a failure, the mistakes its findings show.
 */
export function leadSentence(c: CheckOutcome): string {
  if (c.verdict === "error") return `${c.trainer} could not be checked.`;
  if (c.verdict === "pass") return `${c.trainer} holds every property on this scenario.`;
  const failing = propertiesFor(c.scenario.worldSize).filter((p) => !c.properties[p].ok);
  const list =
    failing.length === 1
      ? failing[0]
      : `${failing.slice(0, -1).join(", ")} and ${failing[failing.length - 1]}`;
  const mistakes = mistakesOf(c).map((id) => MISTAKE_TITLES[id]);
  return `${c.trainer} fails ${list}${mistakes.length > 0 ? `: ${mistakes.join("; ")}` : ""}.`;
}

/**
 * One paragraph, in plain language, of what a check found: which step and window went wrong, how
 * many samples got which weight against which expected weight, how much bigger or smaller their
 * update was, whether the step weighted its samples unequally or equally but wrongly, and what
 * each epoch lost or leaked. Built only from the outcome it is given.
 */
export function explainCheck(c: CheckOutcome): string {
  if (c.verdict === "error")
    return `${c.trainer} could not be checked: ${checkErrorMessage(c.error)}.`;
  const w = c.properties.weighting;
  if (c.verdict === "pass") {
    const body =
      w.bodyMaxRelError === null
        ? ""
        : ` The body gradient matched the float64 oracle within ${formatNumber(w.bodyMaxRelError)} relative (tolerance ${formatNumber(w.bodyTolerance)}).`;
    return (
      `${scenarioSentence(c)} applied every sample exactly once per epoch, in one step per window, ` +
      `with weights within ${formatNumber(w.maxRelError)} relative of 1/|W| (tolerance ${formatNumber(w.tolerance)}; ` +
      `the smallest weighting error it detects is ${formatNumber(w.detectableRelError)}).${body}`
    );
  }
  const nothing = noStepSentence(c);
  if (nothing) return [`${scenarioSentence(c)} ${nothing}`, ...droppedSentences(c)].join(" ");
  const replicas = c.properties.replicas;
  const sentences = [
    ...weightingSentences(c),
    ...bodySentences(c),
    ...coverageSentences(c),
    ...windowingSentences(c),
    ...(replicas.ok ? [] : [`The replicas drifted apart: ${replicasMessage(replicas)}.`]),
  ];
  return `${scenarioSentence(c)} failed. ${sentences.join(" ")}`.trim();
}
