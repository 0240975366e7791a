import type { Step, Trace } from "../trainers/contract/trace.js";
import type { AverageStep, AveragingFinding, AveragingResult } from "./outcome.js";
import { stepsByRank } from "./rank-steps.js";

/** Relative tolerance on an average's move: the average is kept in float32 (or lower). */
export const AVERAGE_TOLERANCE = 1e-3;
/** Below this fraction of the projections' size a move is rounding: it tells nothing. */
const ROUNDING = 1e-6;

type Average = NonNullable<Step["average"]>;

/**
 * How one step call's average compares with `updates` updates by the parameters after it,
 * a <- d·a + (1 - d)·θ, from `previous` (the average before the call), or with a copy of the
 * parameters (`copies`): the relative error at the worst direction, and the whole number of
 * updates that explains the value at the direction where the average had furthest to move (null
 * when none does; `updates` itself when nothing moved far enough to tell).
 */
function compare(
  decay: number,
  previous: readonly number[],
  average: Average,
  updates: number,
  copies: boolean,
): { relError: number; updates: number | null } {
  let relError = 0;
  let widest = 0;
  let inferred: number | null = updates;
  average.after.forEach((theta, k) => {
    const from = previous[k] ?? 0;
    const value = average.value[k] ?? 0;
    const gap = from - theta;
    const floor = ROUNDING * Math.max(Math.abs(theta), Math.abs(value), Math.abs(from), 1e-30);
    const expected = copies ? theta : theta + decay ** updates * gap;
    const error = Math.abs(value - expected) / Math.max(Math.abs(gap), floor);
    relError = Math.max(relError, Number.isNaN(error) ? Number.POSITIVE_INFINITY : error);
    if (Math.abs(gap) <= Math.max(widest, 100 * floor)) return;
    widest = Math.abs(gap);
    const n = Math.log((value - theta) / gap) / Math.log(decay);
    const whole = Math.round(n) + 0; // + 0: no -0 updates
    inferred = Number.isFinite(n) && whole >= 0 && Math.abs(n - whole) < 0.05 ? whole : null;
  });
  return { relError, updates: inferred };
}

/**
 * Averaging: after every applied step the parameters' average equals the recursion
 * a <- d·a + (1 - d)·θ with exactly one update (by the parameters after the step), and after a
 * skipped step it is unchanged. The first applied step may instead copy the parameters (torch's
 * AveragedModel starts so). The trace gives each call's average as projections (`average`); the
 * number of updates that explains each is reported per step. Applies when the scenario sets `ema`.
 */
export function checkAveraging(trace: Trace): AveragingResult {
  const decay = trace.scenario.ema ?? null;
  const findings: AveragingFinding[] = [];
  const chart: AverageStep[] = [];
  if (decay === null)
    return { ok: true, applies: false, decay, tolerance: AVERAGE_TOLERANCE, steps: [], findings };
  for (const { rank, steps } of stepsByRank(trace)) {
    let previous: readonly number[] | null = null;
    let firstApplied = true;
    let unknown = 0;
    steps.forEach((step, index) => {
      const average = step.average;
      if (!average) {
        unknown++;
        return;
      }
      const from = previous ?? average.before;
      const expectedUpdates = step.skipped ? 0 : 1;
      let result = compare(decay, from, average, expectedUpdates, false);
      if (firstApplied && !step.skipped && result.relError > AVERAGE_TOLERANCE) {
        const copy = compare(decay, from, average, expectedUpdates, true);
        if (copy.relError <= AVERAGE_TOLERANCE) result = { ...copy, updates: 1 };
      }
      if (!step.skipped) firstApplied = false;
      previous = average.value;
      const entry: AverageStep = {
        rank,
        step: index,
        epoch: step.epoch,
        skipped: step.skipped,
        updates: result.updates,
        expectedUpdates,
        relError: result.relError,
      };
      if (rank === 0) chart.push(entry);
      if (result.relError > AVERAGE_TOLERANCE) findings.push({ kind: "average-updates", ...entry });
    });
    if (unknown > 0) findings.push({ kind: "average-unknown", rank, steps: unknown });
  }
  return {
    ok: findings.length === 0,
    applies: true,
    decay,
    tolerance: AVERAGE_TOLERANCE,
    steps: chart,
    findings,
  };
}
