import type { CheckDiagnosis } from "../../properties/result.js";
import type { Step } from "../../trainers/contract/trace.js";
import {
  formatChange,
  formatNumber,
  formatSampleRanges,
  formatWeight,
  nth,
  plural,
  positionRange,
  wasWere,
} from "./format.js";

interface WeightGroup {
  epoch: number;
  weight: number;
  expected: number;
  samples: number[];
}

/** Groups a step's fingerprint entries by (epoch tag, weight, expected weight). */
function weightGroups(step: Step, expectedWeight: number[][]): WeightGroup[] {
  const groups = new Map<string, WeightGroup>();
  step.fingerprint.samples.forEach((sample, k) => {
    const epoch = step.fingerprint.epochs[k] ?? 0;
    const weight = Number(step.fingerprint.weights[k]);
    const expected = expectedWeight[epoch]?.[sample] ?? 0;
    const key = `${epoch}|${weight.toPrecision(9)}|${expected.toPrecision(9)}`;
    const group = groups.get(key) ?? { epoch, weight, expected, samples: [] };
    group.samples.push(sample);
    groups.set(key, group);
  });
  return [...groups.values()];
}

function relativeError(weight: number, expected: number): number {
  return expected > 0 ? Math.abs(weight / expected - 1) : Math.abs(weight);
}

function scenarioSentence(d: CheckDiagnosis): string {
  const s = d.result.scenario;
  const options = [
    s.dropLast ? "drop_last on" : "",
    s.shuffle !== false ? `shuffled with seed ${s.shuffle}` : "",
    s.precision !== "fp32" ? s.precision : "",
  ].filter(Boolean);
  return (
    `With ${plural(s.datasetSize, "sample")}, micro-batches of ${s.batchSize} and ` +
    `${plural(s.accumulation, "micro-batch", "micro-batches")} per window over ${plural(s.epochs, "epoch")}` +
    `${options.length > 0 ? ` (${options.join(", ")})` : ""}, ${d.result.trainer}`
  );
}

function weightingSentences(d: CheckDiagnosis): string[] {
  const weighting = d.result.properties?.weighting;
  const worst = weighting?.worst;
  if (!weighting || !worst || worst.relError <= weighting.tolerance) return [];
  const sentences: string[] = [];
  const step = d.trace?.steps[worst.step];
  const analysis = d.steps.find((a) => a.step === worst.step);
  const where = analysis?.window
    ? `, which the oracle matched to window ${nth(analysis.window.index)} of epoch ${nth(analysis.window.epoch)} (${plural(analysis.window.size, "sample")})`
    : "";
  if (step) {
    const groups = weightGroups(step, d.expectedWeight);
    const wrong = groups.filter((g) => relativeError(g.weight, g.expected) > weighting.tolerance);
    const right = groups
      .filter((g) => !wrong.includes(g))
      .reduce((n, g) => n + g.samples.length, 0);
    const parts = wrong
      .sort((a, b) => relativeError(b.weight, b.expected) - relativeError(a.weight, a.expected))
      .slice(0, 4)
      .map((g) => {
        const tag = g.epoch !== worst.stepEpoch ? ` of epoch ${nth(g.epoch)}` : "";
        const update = g.samples.length === 1 ? "its update" : "their update";
        const change = formatChange(g.weight, g.expected);
        const consequence =
          g.expected === 0
            ? `${update} was applied where none was due`
            : g.weight === 0
              ? `${update} was left out`
              : `${update} was ${change} than it should have been`;
        return (
          `${plural(g.samples.length, "sample")}${tag} (${formatSampleRanges(g.samples)}) got weight ` +
          `${formatWeight(g.weight)} where sample-count weighting gives ${formatWeight(g.expected)}, ` +
          `so ${consequence}`
        );
      });
    sentences.push(
      `In step ${nth(worst.step)} (epoch ${nth(worst.stepEpoch)})${where}, ${parts.join("; ")}` +
        `${right === 1 ? "; the step's other sample got its expected weight" : ""}` +
        `${right > 1 ? `; the step's other ${plural(right, "sample")} got their expected weight` : ""}.`,
    );
  } else {
    sentences.push(
      `In step ${nth(worst.step)} (epoch ${nth(worst.stepEpoch)})${where}, sample ${worst.sample} of epoch ` +
        `${nth(worst.epoch)} got weight ${formatWeight(worst.weight)} where 1/|W| is ` +
        `${formatWeight(worst.expectedWeight)}, an update ${formatChange(worst.weight, worst.expectedWeight)}.`,
    );
  }
  const wrongSteps = d.steps.filter((a) => a.weightRelError > weighting.tolerance).length;
  const which =
    wrongSteps === d.steps.length
      ? `All ${d.steps.length.toLocaleString("en-US")} steps`
      : `${wrongSteps} of ${plural(d.steps.length, "step")}`;
  if (d.steps.length > 1)
    sentences.push(
      `${which} gave some sample a wrong weight ` +
        `(largest relative error ${formatNumber(weighting.maxRelError)}, tolerance ${formatNumber(weighting.tolerance)}).`,
    );
  return sentences;
}

function bodySentences(d: CheckDiagnosis): string[] {
  const w = d.result.properties?.weighting;
  if (!w || w.bodyMaxRelError === null || w.bodyMaxRelError <= w.bodyTolerance) return [];
  const at = w.bodyWorstStep === null ? "" : ` (worst at step ${nth(w.bodyWorstStep)})`;
  return [
    `The body gradient differed from the float64 oracle by up to ${formatNumber(w.bodyMaxRelError)} ` +
      `relative${at}, against a tolerance of ${formatNumber(w.bodyTolerance)}.`,
  ];
}

function coverageSentences(d: CheckDiagnosis): string[] {
  const coverage = d.result.properties?.coverage;
  if (!coverage) return [];
  const sentences: string[] = [];
  for (const e of coverage.epochs) {
    const statuses = d.occurrenceStatus[e.epoch] ?? [];
    const ids = (what: string) => {
      const found = statuses.flatMap((s, i) => (s === what ? [i] : []));
      return found.length > 0 ? ` (${formatSampleRanges(found)})` : "";
    };
    const parts: string[] = [];
    if (e.leaked > 0) {
      const steps = new Map<number, number>();
      for (const l of coverage.leaked) if (l.epoch === e.epoch) steps.set(l.step, l.stepEpoch);
      const named = [...steps]
        .slice(0, 4)
        .map(([step, epoch]) => `step ${nth(step)} (epoch ${nth(epoch)})`);
      const into = named.length > 0 ? ` into ${named.join(", ")}` : " into a later epoch";
      parts.push(`${plural(e.leaked, "sample")}${ids("leaked")} leaked${into}`);
    }
    if (e.lost > 0)
      parts.push(
        `${plural(e.lost, "sample")}${ids("lost")} ${wasWere(e.lost)} lost: no applied step used ${e.lost === 1 ? "it" : "them"}`,
      );
    if (e.duplicated > 0)
      parts.push(
        `${plural(e.duplicated, "sample")}${ids("duplicated")} ${wasWere(e.duplicated)} applied more than once`,
      );
    if (parts.length > 0) sentences.push(`Epoch ${nth(e.epoch)}: ${parts.join("; ")}.`);
  }
  const dropped = coverage.epochs.reduce((n, e) => n + e.dropped, 0);
  if (dropped > 0)
    sentences.push(
      `drop_last left out ${plural(dropped, "occurrence")} on purpose (by configuration, not a bug).`,
    );
  return sentences;
}

function windowingSentences(d: CheckDiagnosis): string[] {
  const windowing = d.result.properties?.windowing;
  if (!windowing || windowing.ok) return [];
  const skipped = windowing.skippedSteps > 0 ? ` and skipped ${windowing.skippedSteps}` : "";
  const first = windowing.mismatches[0];
  const example = first
    ? `; first, window ${nth(first.window)} of epoch ${nth(first.epoch)} (${positionRange(first.microBatches[0], first.microBatches[1], "micro-batch", "micro-batches")}, ${plural(first.expectedSamples, "sample")}) ` +
      (first.step === null
        ? "was in no applied step"
        : `best matches step ${nth(first.step)}, which holds ${plural(first.stepSamples, "sample")}, ${sharedPart(first.sharedSamples, first.stepSamples)}`)
    : "";
  const mismatched = windowing.mismatches.length;
  return [
    `The trainer applied ${plural(windowing.appliedSteps, "step")}${skipped} where ` +
      `${plural(windowing.expectedSteps, "window")} ${wasWere(windowing.expectedSteps)} expected; ` +
      `${plural(mismatched, "window")} did not match any applied step${example}.`,
  ];
}

/** How many of a step's samples came from the window it was matched to. */
function sharedPart(shared: number, held: number): string {
  if (shared === held) return held === 1 ? "from this window" : "all from this window";
  return `${shared} of ${held === 1 ? "it" : "them"} from this window`;
}

/**
 * A check in which no optimizer step was applied at all, said plainly: nothing reached an
 * update, whatever the per-epoch counts add up to.
 */
function noStepSentence(d: CheckDiagnosis): string | null {
  const windowing = d.result.properties?.windowing;
  if (!windowing || windowing.appliedSteps > 0) return null;
  const s = d.result.scenario;
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
 * One paragraph, in plain language, of what a check found: which step and window went wrong, how
 * many samples got which weight against which expected weight, how much bigger or smaller their
 * update was, and what each epoch lost or leaked. Built only from the diagnosis it is given.
 */
export function explainCheck(d: CheckDiagnosis): string {
  const r = d.result;
  if (r.verdict === "error" || r.properties === null)
    return `${r.trainer} could not be checked: ${r.error ?? "no reason was given"}.`;
  const w = r.properties.weighting;
  if (r.verdict === "pass") {
    const body =
      w.bodyMaxRelError === null
        ? ""
        : ` The body gradient matched the float64 oracle within ${formatNumber(w.bodyMaxRelError)} relative (tolerance ${formatNumber(w.bodyTolerance)}).`;
    return (
      `${scenarioSentence(d)} applied every sample exactly once per epoch, in one step per window, ` +
      `with weights within ${formatNumber(w.maxRelError)} relative of 1/|W| (tolerance ${formatNumber(w.tolerance)}; ` +
      `the smallest weighting error it detects is ${formatNumber(w.detectableRelError)}).${body}`
    );
  }
  const nothing = noStepSentence(d);
  if (nothing) {
    const dropped = coverageSentences(d).filter((t) => t.startsWith("drop_last"));
    return [`${scenarioSentence(d)} ${nothing}`, ...dropped].join(" ");
  }
  const sentences = [
    ...weightingSentences(d),
    ...bodySentences(d),
    ...coverageSentences(d),
    ...windowingSentences(d),
  ];
  return `${scenarioSentence(d)} failed. ${sentences.join(" ")}`.trim();
}
