/**
 * Mistakes in what a step does beyond its gradient: the learning-rate schedule, clipping, the
 * parameters' average and the optimizer's counters. Each reads the findings of the schedule,
 * averaging and optimizer-state properties (or weighting's, for clipping) and is named only where
 * the evidence makes it true; a finding none of them explains is left as unexplained evidence.
 */
import type {
  AverageStep,
  CheckJudgement,
  LearningRateStep,
  WeightingFinding,
} from "../../properties/outcome.js";
import { formatNumber, plural, stepName } from "../words.js";
import type { Evidence, Mistake, MistakeId } from "./catalogue.js";

type StepWeights = Extract<WeightingFinding, { kind: "step-weights" }>;

/** Forward passes rank 0 ran up to and including each step call's window, by step call. */
function forwardPassesUpTo(check: CheckJudgement): number[] {
  let total = 0;
  return check.steps.map((s) => {
    total += s.microBatches;
    return total;
  });
}

/** Skipped step calls before each step call, by step call (rank 0). */
function skippedBefore(check: CheckJudgement): number[] {
  let skipped = 0;
  return check.steps.map((s) => {
    const before = skipped;
    if (s.skipped) skipped++;
    return before;
  });
}

const rateShows = (f: LearningRateStep, why: string, stood = f.scheduleStep): Evidence => ({
  step: f.step,
  epoch: f.epoch,
  shows: `${stepName(f.step, f.epoch)}${f.rank > 0 ? ` on rank ${f.rank}` : ""} (applied step s = ${f.appliedStep}) used learning rate ${formatNumber(f.used ?? Number.NaN)}, ${stood === null ? "a rate of no step of the schedule," : `the schedule's at step ${stood}`} where step ${f.appliedStep}'s (${formatNumber(f.expected)}) was due: ${why}`,
});

type Cause = { stood: number; why: string } | null;

/** Each way a rate leaves the schedule, as a test of one off step: where it put the schedule, and why. */
function scheduleCauses(check: CheckJudgement): Array<[MistakeId, (f: LearningRateStep) => Cause]> {
  const fed = forwardPassesUpTo(check);
  const skipped = skippedBefore(check);
  const w = check.scenario.worldSize;
  return [
    [
      "schedule-on-skipped-step",
      (f) => {
        const before = f.rank === 0 ? (skipped[f.step] ?? 0) : 0;
        if (before === 0 || !f.scheduleSteps.includes(f.appliedStep + before)) return null;
        return {
          stood: f.appliedStep + before,
          why: `${plural(before, "skipped step")} came before it, and the schedule is that many ahead: it ticked on the skipped ${before === 1 ? "step" : "steps"} too`,
        };
      },
    ],
    [
      "schedule-per-epoch",
      (f) => {
        const epoch = f.epoch;
        const stood = f.scheduleSteps.find((s) => s === epoch || s === epoch + 1);
        if (stood === undefined) return null;
        return {
          stood,
          why: `the schedule stood at ${stood}, by the epoch (epoch ${epoch + 1}): it ticked once per epoch, not per step`,
        };
      },
    ],
    [
      "schedule-per-micro-batch",
      (f) => {
        const passes = f.rank === 0 ? (fed[f.step] ?? 0) : 0;
        const ticked = f.scheduleSteps.find((s) => s === passes - 1 || s === passes);
        if (passes <= f.appliedStep + 1 || ticked === undefined) return null;
        return {
          stood: ticked,
          why: `${plural(passes, "micro-batch", "micro-batches")} had been fed by then, and the schedule stood at ${ticked}: it ticked once per micro-batch`,
        };
      },
    ],
    [
      "schedule-per-rank",
      (f) => {
        const at = f.scheduleSteps.find(
          (s) => s === w * f.appliedStep || s === w * (f.appliedStep + 1) - 1,
        );
        if (w === 1 || at === undefined) return null;
        return {
          stood: at,
          why: `the schedule stood at ${at}, about W = ${w} times s: it ticked once per rank at every step`,
        };
      },
    ],
  ];
}

/**
 * The schedule's mistakes, each with the steps that show it, and the off steps none explains. A
 * cause that explains every off step of a rank is taken for all of them (a schedule repeats rates,
 * so one step alone may fit several); otherwise each step takes the first cause that fits it.
 */
function scheduleMistakes(check: CheckJudgement): { found: Mistake[]; rest: Evidence[] } {
  const causes = scheduleCauses(check);
  const byId = new Map<MistakeId, Evidence[]>();
  const rest: Evidence[] = [];
  const off = check.properties.schedule.findings.filter(
    (f): f is Extract<typeof f, { kind: "learning-rate" }> => f.kind === "learning-rate",
  );
  for (const rank of new Set(off.map((f) => f.rank))) {
    const mine = off.filter((f) => f.rank === rank);
    const whole = causes.find(([, test]) => mine.every((f) => test(f) !== null));
    for (const f of mine) {
      const [id, cause] =
        (whole ? [whole[0], whole[1](f)] : undefined) ??
        causes.map(([id, test]) => [id, test(f)] as const).find(([, c]) => c !== null) ??
        [];
      if (!id || !cause) {
        rest.push(
          rateShows(
            f,
            f.scheduleStep === null
              ? "no step of the schedule has that rate"
              : "no known mistake puts the schedule there",
          ),
        );
        continue;
      }
      byId.set(id, [...(byId.get(id) ?? []), rateShows(f, cause.why, cause.stood)]);
    }
  }
  const found = [...byId].map(([id, evidence]) => ({ id, evidence, explains: {} }));
  return { found, rest };
}

/** Steps clipped as if to no norm: every weight 1 / clip factor times its clipped due, i.e. unclipped. */
function clipMistakes(check: CheckJudgement): Mistake[] {
  const clipNorm = check.scenario.clipNorm;
  if (clipNorm === undefined) return [];
  const { weighting } = check.properties;
  const slack = 2 * Math.max(weighting.tolerance, weighting.bodyTolerance);
  const missing: Evidence[] = [];
  const notOnce: Evidence[] = [];
  for (const f of weighting.findings) {
    if (f.kind !== "step-weights" || f.explainedBy !== null) continue;
    const step = check.steps[f.step];
    if (!step || step.clipFactor >= 1) continue;
    const factor = step.weightFactor;
    if (factor !== null && Math.abs(factor * step.clipFactor - 1) <= slack)
      missing.push({
        step: f.step,
        epoch: f.epoch,
        shows: `${stepName(f.step, f.epoch)} applied its window's gradient unclipped: its norm asked for a factor of ${formatNumber(step.clipFactor)} (C = ${clipNorm})`,
      });
    else if (clippedInParts(f)) notOnce.push(partsEvidence(f, step.clipFactor, clipNorm));
  }
  const steps = (evidence: Evidence[]) => ({
    steps: evidence.flatMap((e) => (e.step === undefined ? [] : [e.step])),
  });
  return [
    ...(missing.length > 0
      ? [{ id: "clip-missing" as const, evidence: missing, explains: steps(missing) }]
      : []),
    ...(notOnce.length > 0
      ? [{ id: "clip-not-once" as const, evidence: notOnce, explains: steps(notOnce) }]
      : []),
  ];
}

/**
 * Weights of a step in several groups, none above its unclipped due share (clipping only shrinks)
 * and not one factor of it: parts of the window clipped on their own.
 */
function clippedInParts(f: StepWeights): boolean {
  const distinct = new Set(f.groups.map((g) => g.weight / (g.expected || 1)));
  return (
    f.groups.length >= 2 &&
    distinct.size >= 2 &&
    f.groups.every((g) => g.expected > 0 && g.weight <= (g.expected / g.clip) * (1 + 1e-3))
  );
}

function partsEvidence(f: StepWeights, clip: number, clipNorm: number): Evidence {
  const shares = f.groups.map((g) => formatNumber((g.weight * g.clip) / g.expected));
  return {
    step: f.step,
    epoch: f.epoch,
    shows: `${stepName(f.step, f.epoch)} scaled its samples by ${plural(f.groups.length, "different factor")} (${shares.join(", ")} of their unclipped due), none above 1, where clipping the window's gradient once gives every sample the one factor ${formatNumber(clip)} (C = ${clipNorm}): it clipped parts of the window (each micro-batch's running sum, or each rank's before the all-reduce)`,
  };
}

const averageShows = (a: AverageStep, why: string): Evidence => ({
  step: a.step,
  epoch: a.epoch,
  shows: `after ${a.skipped ? "skipped " : ""}${stepName(a.step, a.epoch)}${a.rank > 0 ? ` on rank ${a.rank}` : ""} the average took ${a.updates === null ? "an amount of updates no whole number explains" : plural(a.updates, "update")} where ${a.expectedUpdates} ${a.expectedUpdates === 1 ? "was" : "were"} due: ${why}`,
});

/** Forward passes rank 0 ran after each step call, up to the next (or the run's end). */
function forwardPassesAfter(check: CheckJudgement): number[] {
  const total = check.steps.reduce((sum, s) => sum + s.microBatches, 0);
  const upTo = forwardPassesUpTo(check);
  return check.steps.map((_, k) => check.steps[k + 1]?.microBatches ?? total - (upTo[k] ?? 0));
}

/**
 * The average's mistakes: updated per micro-batch (as many updates after a step as micro-batches
 * ran before the next: K, and none after the last step when the updates come before the step),
 * or on a skipped step.
 */
function averageMistakes(check: CheckJudgement): { found: Mistake[]; rest: Evidence[] } {
  const onSkipped: Evidence[] = [];
  const rest: Evidence[] = [];
  const after = forwardPassesAfter(check);
  const off = check.properties.averaging.findings.filter(
    (f): f is Extract<typeof f, { kind: "average-updates" }> => f.kind === "average-updates",
  );
  const perPass = (f: AverageStep) =>
    !f.skipped && f.rank === 0 && f.updates !== null && f.updates === after[f.step];
  const perMicroBatch = off.some((f) => perPass(f) && (f.updates ?? 0) > 1)
    ? off
        .filter(perPass)
        .map((f) => averageShows(f, "one update per micro-batch fed, not per step"))
    : [];
  for (const f of off) {
    if (perMicroBatch.length > 0 && perPass(f)) continue;
    if (f.skipped && (f.updates ?? 0) >= 1)
      onSkipped.push(averageShows(f, "it updated on a step the loss scaler skipped"));
    else rest.push(averageShows(f, "no known mistake explains it"));
  }
  const found: Mistake[] = [];
  if (perMicroBatch.length > 0)
    found.push({ id: "ema-per-micro-batch", evidence: perMicroBatch, explains: {} });
  if (onSkipped.length > 0)
    found.push({ id: "ema-on-skipped-step", evidence: onSkipped, explains: {} });
  return { found, rest };
}

/** The optimizer's count off the applied steps. */
function countMistakes(check: CheckJudgement): Mistake[] {
  const evidence: Evidence[] = [];
  for (const f of check.properties.optimizer.findings)
    if (f.kind === "step-count")
      evidence.push({
        step: f.step,
        epoch: f.epoch,
        shows: `after ${f.skipped ? "skipped " : ""}${stepName(f.step, f.epoch)}${f.rank > 0 ? ` on rank ${f.rank}` : ""} the optimizer had counted ${f.counted} steps where ${f.expected} ${f.expected === 1 ? "was" : "were"} applied`,
      });
  return evidence.length > 0 ? [{ id: "optimizer-count-off", evidence, explains: {} }] : [];
}

/** What the trace does not show: rates, averages or counts that no step recorded. */
function unrecorded(check: CheckJudgement): Mistake[] {
  const { schedule, averaging, optimizer } = check.properties;
  const evidence: Evidence[] = [];
  for (const f of schedule.findings)
    if (f.kind === "learning-rate-unknown")
      evidence.push({
        shows: `no learning rate recorded for ${plural(f.steps, "applied step")}${f.rank > 0 ? ` on rank ${f.rank}` : ""}`,
      });
  for (const f of averaging.findings)
    if (f.kind === "average-unknown")
      evidence.push({
        shows: `no average recorded for ${plural(f.steps, "step call")}${f.rank > 0 ? ` on rank ${f.rank}` : ""}`,
      });
  for (const f of optimizer.findings)
    if (f.kind === "count-unknown")
      evidence.push({
        shows: `no optimizer step count recorded for ${plural(f.steps, "step call")}${f.rank > 0 ? ` on rank ${f.rank}` : ""}`,
      });
  return evidence.length > 0 ? [{ id: "step-state-unrecorded", evidence, explains: {} }] : [];
}

/**
 * The step-semantics mistakes a check shows (`found`), and the evidence of step-property findings
 * none of them explains (`unexplained`), for the unexplained advice.
 */
export function stepSemanticsMistakes(check: CheckJudgement): {
  found: Mistake[];
  unexplained: Evidence[];
} {
  const schedule = scheduleMistakes(check);
  const average = averageMistakes(check);
  return {
    found: [
      ...unrecorded(check),
      ...schedule.found,
      ...clipMistakes(check),
      ...average.found,
      ...countMistakes(check),
    ],
    unexplained: [...schedule.rest, ...average.rest],
  };
}
