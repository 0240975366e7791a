import { expectedLearningRate, scheduleLength } from "../reference/schedule.js";
import type { Step, Trace } from "../trainers/contract/trace.js";
import {
  type LearningRateStep,
  type ScheduleFinding,
  type ScheduleResult,
  scheduleApplies,
} from "./outcome.js";
import { stepsByRank } from "./rank-steps.js";

/** Relative tolerance on a learning rate: a float32 rate (Keras keeps one) rounds at 6e-8. */
export const LEARNING_RATE_TOLERANCE = 1e-5;

const close = (a: number, b: number) =>
  Math.abs(a - b) <= LEARNING_RATE_TOLERANCE * Math.max(Math.abs(a), Math.abs(b)) + 1e-12;

/**
 * The learning rate a step used: the one recorded, else the one a plain-SGD update implies
 * (Σ Δ·g / Σ g² over the fingerprint entries its gradient lists); null when neither is known.
 */
export function usedLearningRate(step: Step): number | null {
  const update = step.update;
  if (!update) return null;
  if (update.learningRate !== undefined) return update.learningRate;
  if (update.rule !== "sgd") return null;
  let dot = 0;
  let norm = 0;
  step.fingerprint.weights.forEach((g, k) => {
    dot += (update.fingerprint[k] ?? 0) * g;
    norm += g * g;
  });
  return norm > 0 && Number.isFinite(dot) ? dot / norm : null;
}

/** Off steps per rank whose schedule step is searched for (the rest say null). */
const SEARCHED_STEPS = 32;

/** The schedule steps s' (up to `limit`) whose rate equals `rate`: where the schedule may have stood. */
function scheduleStepsOf(trace: Trace, rate: number, length: number, limit: number): number[] {
  const steps: number[] = [];
  for (let s = 0; s <= limit; s++)
    if (close(expectedLearningRate(trace.scenario, s, length), rate)) steps.push(s);
  return steps;
}

/** The one of `steps` nearest `near` (the first of two as near); null for none. */
function nearest(steps: readonly number[], near: number): number | null {
  let best: number | null = null;
  for (const s of steps) if (best === null || Math.abs(s - near) < Math.abs(best - near)) best = s;
  return best;
}

/**
 * Schedule: every rank's applied step s (0-based, applied steps only) used the scenario's learning
 * rate at s (reference/schedule.ts). A step whose rate is off fails with both rates and, where one
 * fits, the schedule step its rate belongs to (K x s: a scheduler ticking per micro-batch; s plus
 * the skipped steps: ticking on a skipped step). Applies only when the scenario sets a schedule.
 */
export function checkSchedule(trace: Trace): ScheduleResult {
  const scenario = trace.scenario;
  const length = scheduleLength(scenario);
  const applies = scheduleApplies(scenario);
  const findings: ScheduleFinding[] = [];
  const chart: LearningRateStep[] = [];
  const limit = length * scenario.accumulation * scenario.worldSize + scenario.worldSize;
  for (const { rank, steps } of stepsByRank(trace)) {
    let applied = 0;
    let unknown = 0;
    let searched = 0;
    steps.forEach((step, index) => {
      if (step.skipped) return;
      const s = applied++;
      const expected = expectedLearningRate(scenario, s, length);
      const used = usedLearningRate(step);
      const off = used !== null && !close(used, expected);
      const candidates =
        used === null
          ? []
          : !off
            ? [s]
            : searched++ < SEARCHED_STEPS
              ? scheduleStepsOf(trace, used, length, limit)
              : [];
      const entry: LearningRateStep = {
        rank,
        step: index,
        epoch: step.epoch,
        appliedStep: s,
        expected,
        used,
        scheduleStep: nearest(candidates, s),
        scheduleSteps: candidates,
      };
      if (rank === 0) chart.push(entry);
      if (!applies) return;
      if (used === null) unknown++;
      else if (off) findings.push({ kind: "learning-rate", ...entry });
    });
    if (applies && unknown > 0)
      findings.push({ kind: "learning-rate-unknown", rank, steps: unknown });
  }
  return {
    ok: findings.length === 0,
    applies,
    length,
    tolerance: LEARNING_RATE_TOLERANCE,
    steps: chart,
    findings,
  };
}
