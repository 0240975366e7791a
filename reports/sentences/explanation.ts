import { type CheckJudgement, type CheckOutcome, propertiesFor } from "../../properties/outcome.js";
import { mistakesOf, mistakeTitle } from "../advice.js";
import {
  formatCounts,
  formatNumber,
  formatSampleSet,
  nth,
  plural,
  positionRange,
  stepName,
  wasWere,
} from "../words.js";
import { checkErrorMessage } from "./check-error.js";
import {
  drawnWithReplacementSentence,
  findingsOf,
  ranksWord,
  samplesOf,
  totalOf,
} from "./coverage.js";
import { explainDraws } from "./draws.js";
import { tokenWeightingOf } from "./loss-tokens.js";
import { replicasMessage } from "./replicas.js";
import { averagingMessage, optimizerStateMessage, scheduleMessage } from "./step-semantics.js";
import { updatesMessage } from "./updates.js";
import { bodySentences, weightingSentences } from "./weight-explanation.js";
import { windowingFindings } from "./windowing.js";

function scenarioSentence(c: CheckOutcome): string {
  const s = c.scenario;
  const tokens = tokenWeightingOf(c);
  const options = [
    s.dropLast ? "drop_last on" : "",
    s.shuffle !== false ? `shuffled with seed ${s.shuffle}` : "",
    s.precision !== "fp32" ? s.precision : "",
    tokens ? `weighted by loss tokens, per sample ${formatCounts(tokens.lossTokens)}` : "",
  ].filter(Boolean);
  const ranks = s.worldSize > 1 ? ` on ${plural(s.worldSize, "rank")}` : "";
  const perRank = s.worldSize > 1 ? " per rank" : "";
  return (
    `With ${plural(s.datasetSize, "sample")}${ranks}, micro-batches of ${s.batchSize} and ` +
    `${plural(s.accumulation, "micro-batch", "micro-batches")}${perRank} per window over ${plural(s.epochs, "epoch")}` +
    `${options.length > 0 ? ` (${options.join(", ")})` : ""}, ${c.trainer}`
  );
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
  const never = windowingFindings(windowing, "unproduced-windows").reduce(
    (n, f) => n + f.windows[1] - f.windows[0] + 1,
    0,
  );
  const neverFed =
    never > 0
      ? `${plural(never, "window")} ${wasWere(never)} never fed (the run stopped before them)`
      : "";
  const mismatched =
    unmatched.length > 0 || never === 0
      ? `${plural(unmatched.length, "window")} did not match any applied step${example}`
      : "";
  return [
    `The trainer applied ${plural(windowing.appliedSteps, "step")}${skipped} where ` +
      `${plural(windowing.expectedSteps, "window")} ${wasWere(windowing.expectedSteps)} expected; ` +
      `${[neverFed, mismatched].filter(Boolean).join("; ")}.`,
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
  const failing = propertiesFor(c.scenario.worldSize, c.scenario).filter(
    (p) => !c.properties[p].ok,
  );
  const list =
    failing.length === 1
      ? failing[0]
      : `${failing.slice(0, -1).join(", ")} and ${failing[failing.length - 1]}`;
  const mistakes = mistakesOf(c).map((id) =>
    mistakeTitle(id, c.scenario.weighting, c.scenario.sampling),
  );
  return `${c.trainer} fails ${list}${mistakes.length > 0 ? `: ${mistakes.join("; ")}` : ""}.`;
}

/** What the step properties found wrong, a sentence each. */
function stepSemanticsSentences(c: CheckJudgement): string[] {
  const { schedule, averaging, optimizer } = c.properties;
  return [
    ...(schedule.ok
      ? []
      : [`The learning rate left the schedule: ${scheduleMessage(schedule, c.scenario)}.`]),
    ...(averaging.ok
      ? []
      : [`The average did not follow the steps: ${averagingMessage(averaging)}.`]),
    ...(optimizer.ok
      ? []
      : [`The optimizer's state did not follow the steps: ${optimizerStateMessage(optimizer)}.`]),
  ];
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
  if (c.scenario.sampling === "replacement") return explainDraws(c);
  const w = c.properties.weighting;
  if (c.verdict === "pass") {
    const body =
      w.bodyMaxRelError === null
        ? ""
        : ` The body gradient matched the float64 oracle within ${formatNumber(w.bodyMaxRelError)} relative (tolerance ${formatNumber(w.bodyTolerance)}).`;
    return (
      `${scenarioSentence(c)} applied every sample exactly once per epoch, in one step per window, ` +
      `with weights within ${formatNumber(w.maxRelError)} relative of ${tokenWeightingOf(c) ? "n_i/T_W, each sample's share of its window's loss tokens" : "1/|W|"} (tolerance ${formatNumber(w.tolerance)}; ` +
      `the smallest weighting error it detects is ${formatNumber(w.detectableRelError)}).${body}`
    );
  }
  // A loop that draws with replacement has no epoch windows to speak of: say that alone.
  const drawn = findingsOf(c.properties.coverage, "drawn-with-replacement")[0];
  if (drawn) {
    const sentence = drawnWithReplacementSentence(drawn);
    return `${scenarioSentence(c)} failed: ${sentence}.`;
  }
  const nothing = noStepSentence(c);
  if (nothing) return [`${scenarioSentence(c)} ${nothing}`, ...droppedSentences(c)].join(" ");
  const replicas = c.properties.replicas;
  const updates = updatesMessage(c.properties.weighting, c.scenario);
  const sentences = [
    ...(updates
      ? [`What reached the parameters is not what the steps' gradients say: ${updates}.`]
      : []),
    ...weightingSentences(c),
    ...bodySentences(c),
    ...coverageSentences(c),
    ...windowingSentences(c),
    ...(replicas.ok ? [] : [`The replicas drifted apart: ${replicasMessage(replicas)}.`]),
    ...stepSemanticsSentences(c),
  ];
  return `${scenarioSentence(c)} failed. ${sentences.join(" ")}`.trim();
}
