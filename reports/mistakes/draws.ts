/**
 * The mistakes a run that draws with replacement can show, and the sign of such a loop in a run
 * audited by epochs. Under replacement there are no epoch tails: the detectors here read draws,
 * windows of K drawn micro-batches and steps, and name nothing epoch-shaped.
 */
import type { CheckJudgement, CoverageFinding, LossScaling } from "../../properties/outcome.js";
import { findingsOf } from "../sentences/coverage.js";
import {
  drawWeightingMessage,
  duplicatedDrawsText,
  lostDrawsText,
  stepsWord,
} from "../sentences/draws.js";
import { nonFiniteFindings, nonFiniteStep } from "../sentences/non-finite.js";
import { stepFindings, worstGroup } from "../sentences/weighting.js";
import {
  formatNumber,
  formatSampleSet,
  formatWeight,
  nth,
  plural,
  positionRange,
} from "../words.js";
import type { Evidence, Mistake, MistakeId } from "./catalogue.js";
import { unexplainedUpdates, updateMistakes } from "./updates.js";

type LostDraws = Extract<CoverageFinding, { kind: "lost-draws" }>;

/**
 * An epoch-sampled run whose loop draws with replacement: a sample fed twice on one rank in an
 * epoch while others were never fed. Every epoch-shaped finding follows from it, so it is the
 * one mistake named, and it accounts for all of them.
 */
export function drawsWithReplacement(check: CheckJudgement): Mistake | null {
  const found = findingsOf(check.properties.coverage, "drawn-with-replacement");
  if (found.length === 0) return null;
  const evidence: Evidence[] = found.map((f) => {
    const [a, b] = f.microBatches;
    const where =
      a === b ? `twice in micro-batch ${nth(a)}` : `in micro-batches ${nth(a)} and ${nth(b)}`;
    const rank = check.scenario.worldSize > 1 ? ` on rank ${f.rank}` : "";
    return {
      epoch: f.epoch,
      microBatches: [a, b],
      shows: `epoch ${nth(f.epoch)}${rank}: sample ${f.sample} fed ${where}; ${plural(f.samples.count, "sample")} fed more than once (${formatSampleSet(f.samples, 4)}) and ${plural(f.neverDrawn, "sample")} never fed`,
    };
  });
  const { coverage } = check.properties;
  return {
    id: "draws-with-replacement",
    evidence,
    explains: {
      steps: check.steps.map((s) => s.step),
      windows: check.plan.flatMap((p) =>
        p.windows.map((w): [number, number] => [p.epoch, w.index]),
      ),
      lost: coverage.epochs.map((e): [number, number] => [e.epoch, e.lost]),
      leaked: coverage.epochs.map((e): [number, number] => [e.epoch, e.leaked]),
      duplicated: coverage.epochs.map((e): [number, number] => [e.epoch, e.duplicated]),
      unproduced: check.plan.map((p) => p.epoch),
      stepCount: true,
    },
  };
}

/** The mistake each loss scaling is under replacement (every window K micro-batches of B draws). */
const SCALING_MISTAKES: Partial<Record<LossScaling, MistakeId>> = {
  "divided-by-k": "tail-divided-by-k",
  "micro-batch-mean": "micro-batch-mean",
  "not-divided": "loss-not-divided",
  "per-rank-count": "per-rank-count",
};

const SCALING_WORDS: Partial<Record<LossScaling, (k: number, tokens: boolean) => string>> = {
  "divided-by-k": (k, tokens) =>
    `each micro-batch's ${tokens ? "token " : ""}mean divided by K = ${k}`,
  "micro-batch-mean": (_k, tokens) =>
    `each micro-batch's ${tokens ? "token " : ""}mean divided by the window's micro-batches`,
  "not-divided": (_k, tokens) => `each micro-batch's ${tokens ? "token " : ""}mean, never divided`,
  "per-rank-count": () => "each rank's own count",
};

/** Steps whose every weight one common loss scaling gives, one mistake per scaling. */
function lossScalings(check: CheckJudgement, claimed: Set<number>): Mistake[] {
  const tokens = check.scenario.weighting === "tokens";
  const k = check.scenario.accumulation;
  const byMistake = new Map<MistakeId, Evidence[]>();
  for (const f of stepFindings(check.properties.weighting)) {
    const id = f.explainedBy === null ? undefined : SCALING_MISTAKES[f.explainedBy];
    const words = f.explainedBy === null ? undefined : SCALING_WORDS[f.explainedBy];
    if (!id || !words || claimed.has(f.step)) continue;
    const group = worstGroup(f);
    const got = group
      ? ` gave ${group.samples.count === 1 ? `sample ${group.samples.ranges[0]?.[0]}` : plural(group.samples.count, "sample")} weight ${formatWeight(group.weight)} where ${formatWeight(group.expected)} was due`
      : "";
    byMistake.set(id, [
      ...(byMistake.get(id) ?? []),
      {
        step: f.step,
        ...(f.window ? { window: f.window.index } : {}),
        shows: `step ${nth(f.step)} (window ${nth(f.window?.index ?? f.step)})${got}: ${words(k, tokens)}`,
      },
    ]);
  }
  return [...byMistake].map(([id, evidence]) => ({
    id,
    evidence,
    explains: { steps: evidence.map((e) => e.step as number) },
  }));
}

/** Lost windows drawn whole after the run's last step call: their draws never reached a step. */
function drawsNeverStepped(check: CheckJudgement, lost: readonly LostDraws[]): Mistake | null {
  // Micro-batches fed after the last step call are those no step's count of forward passes holds.
  const fedBeforeLastCall = check.steps.reduce((n, s) => n + s.microBatches, 0);
  const afterLast = lost.filter(
    (f) => f.skippedStep === null && f.microBatches[0] >= fedBeforeLastCall,
  );
  if (afterLast.length === 0) return null;
  const { appliedSteps, expectedSteps } = check.properties.windowing;
  return {
    id: "draws-never-stepped",
    evidence: [
      ...afterLast.map((f) => ({
        window: f.window,
        microBatches: f.microBatches,
        shows: `window ${nth(f.window)} (${positionRange(f.microBatches[0], f.microBatches[1], "micro-batch", "micro-batches")}) was drawn after the run's last step call: ${lostDrawsText(f)}`,
      })),
      ...(appliedSteps === expectedSteps
        ? []
        : [
            {
              shows: `${plural(appliedSteps, "applied step")} where the scenario has ${expectedSteps}`,
            },
          ]),
    ],
    explains: { lost: [[0, afterLast.reduce((n, f) => n + f.draws, 0)]], stepCount: true },
  };
}

/**
 * The mistakes a failing check of a run that draws with replacement shows, with their evidence;
 * what none accounts for comes last as `unexplained`.
 */
export function detectDrawMistakes(check: CheckJudgement): Mistake[] {
  const { coverage, windowing } = check.properties;
  if (windowing.appliedSteps === 0 && windowing.skippedSteps === 0 && windowing.expectedSteps > 0)
    return [
      {
        id: "no-step",
        evidence: [
          {
            shows: `the loop drew ${plural(check.plan[0]?.produced ?? 0, "micro-batch", "micro-batches")} and no optimizer step ran (step() was never called, or never reached the optimizer): none of their draws was applied`,
          },
        ],
        explains: { stepCount: true },
      },
    ];
  const found: Mistake[] = updateMistakes(check);
  const lost = findingsOf(coverage, "lost-draws");
  const never = drawsNeverStepped(check, lost);
  if (never) found.push(never);
  const skipped = lost.filter((f) => f.skippedStep !== null);
  if (skipped.length > 0)
    found.push({
      id: "skipped-step-lost",
      evidence: skipped.map((f) => {
        const scale = check.steps[f.skippedStep as number]?.lossScale;
        return {
          step: f.skippedStep as number,
          window: f.window,
          shows: `${lostDrawsText(f)}${scale ? ` (loss scale ${formatNumber(scale)})` : ""}, and the window was not redone`,
        };
      }),
      explains: { lost: [[0, skipped.reduce((n, f) => n + f.draws, 0)]], stepCount: true },
    });
  const twice = findingsOf(coverage, "duplicated-draws");
  if (twice.length > 0)
    found.push({
      id: "applied-twice",
      evidence: twice.map((f) => ({
        window: f.window,
        step: f.steps[1] ?? f.steps[0] ?? 0,
        shows: `${duplicatedDrawsText(f)}: the gradient of its window was still there at ${stepsWord(f.steps.slice(1))}`,
      })),
      explains: {
        duplicated: [[0, twice.reduce((n, f) => n + f.draws, 0)]],
        steps: [...new Set(twice.flatMap((f) => f.steps.slice(1)))],
      },
    });
  const claimed = new Set(found.flatMap((m) => m.explains.steps ?? []));
  found.push(...lossScalings(check, claimed));
  const rest = unexplainedDraws(check, found);
  if (rest) found.push(rest);
  return found;
}

/** What the trace shows that none of `named` accounts for, as evidence; null when nothing is left. */
function unexplainedDraws(check: CheckJudgement, named: readonly Mistake[]): Mistake | null {
  const { coverage, weighting, windowing, replicas } = check.properties;
  const claims = named.map((m) => m.explains);
  const steps = new Set(claims.flatMap((c) => c.steps ?? []));
  const sum = (list: Array<[number, number]> | undefined) =>
    (list ?? []).reduce((n, [, count]) => n + count, 0);
  const evidence: Evidence[] = [];
  // The lost windows a named mistake shows (each names its windows in its evidence).
  const lostWindows = new Set(
    named.filter((m) => m.explains.lost).flatMap((m) => m.evidence.map((e) => e.window)),
  );
  for (const f of findingsOf(coverage, "lost-draws"))
    if (!lostWindows.has(f.window))
      evidence.push({ window: f.window, microBatches: f.microBatches, shows: lostDrawsText(f) });
  const duplicatedClaimed = claims.reduce((n, c) => n + sum(c.duplicated), 0);
  if ((coverage.epochs[0]?.duplicated ?? 0) > duplicatedClaimed)
    for (const f of findingsOf(coverage, "duplicated-draws"))
      evidence.push({
        window: f.window,
        microBatches: f.microBatches,
        shows: duplicatedDrawsText(f),
      });
  // A step that applied NaN or an infinity is evidence of its own: what it weighed is no more.
  const nonFinite = nonFiniteFindings(weighting);
  for (const f of nonFinite)
    if (!steps.has(f.step)) evidence.push({ step: f.step, shows: nonFiniteStep(f) });
  const nonFiniteSteps = new Set(nonFinite.map((f) => f.step));
  for (const f of stepFindings(weighting)) {
    if (steps.has(f.step) || nonFiniteSteps.has(f.step)) continue;
    const factor = check.steps[f.step]?.weightFactor ?? null;
    const scaled =
      factor !== null ? `; every weight is ${formatNumber(factor)} times what was due` : "";
    evidence.push({
      step: f.step,
      ...(f.window ? { window: f.window.index } : {}),
      shows: `${drawWeightingMessage({ ...weighting, findings: [f], bodyWorstStep: null }, check.scenario)}${scaled}`,
    });
  }
  for (const f of weighting.findings)
    if (f.kind === "body-gradient" && !steps.has(f.step) && !nonFiniteSteps.has(f.step)) {
      const factor = check.steps[f.step]?.bodyFactor ?? null;
      evidence.push({
        step: f.step,
        shows: `step ${nth(f.step)}'s body gradient is off the float64 oracle over its window's draws by ${formatNumber(f.relError)} (tolerance ${formatNumber(weighting.bodyTolerance)})${factor !== null ? `; it is ${formatNumber(factor)} times the oracle's` : ""}`,
      });
    }
  const countExplained = claims.some((c) => c.stepCount);
  for (const f of windowing.findings) {
    if (f.kind === "step-count" && !countExplained)
      evidence.push({
        shows: `${plural(f.applied, "applied step")} where the scenario has ${f.expected}`,
      });
    if (f.kind === "unproduced-windows")
      evidence.push({
        shows: `windows ${nth(f.windows[0])}–${nth(f.windows[1])} were not drawn in full (the run drew ${plural(f.producedMicroBatches, "micro-batch", "micro-batches")} of ${f.producedMicroBatches + f.microBatches})`,
      });
    if (f.kind === "extra-draws")
      evidence.push({
        microBatches: f.microBatches,
        shows: `${positionRange(f.microBatches[0], f.microBatches[1], "micro-batch", "micro-batches")} (${plural(f.draws, "draw")}) drawn beyond the scenario's steps`,
      });
    if (f.kind === "unmatched-window" && f.step !== null && !steps.has(f.step))
      evidence.push({
        step: f.step,
        window: f.window,
        microBatches: f.microBatches,
        shows: `window ${nth(f.window)} (${positionRange(f.microBatches[0], f.microBatches[1], "micro-batch", "micro-batches")}) is not one step: step ${nth(f.step)} holds ${f.sharedSamples} of its ${f.expectedSamples} samples among ${f.stepSamples}`,
      });
    if (f.kind === "irregular-micro-batch")
      evidence.push({
        microBatches: [f.position, f.position],
        shows: `micro-batch ${nth(f.position)} holds ${plural(f.size, "draw")}, where B = ${check.scenario.batchSize}`,
      });
  }
  evidence.push(...unexplainedUpdates(check, named));
  if (!replicas.ok) evidence.push({ shows: "the ranks disagree" });
  return evidence.length === 0 ? null : { id: "unexplained", evidence, explains: {} };
}
