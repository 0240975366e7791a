import type { Scenario } from "../trainers/contract/scenario.js";
import type { TrainerInfo } from "../trainers/contract/trace.js";

/** Tolerances of the weighting property for one precision. */
export interface Tolerance {
  /** Largest accepted |w - 1/|W|| * |W| of any sample's weight. */
  weight: number;
  /** Largest accepted |g - g*| / mean |grad l_i| of the body gradient. */
  body: number;
}

/**
 * Tolerances by precision. fp32 rounding stays near 1e-7 relative; fp16 has a unit roundoff of
 * 2^-11 (4.9e-4) and bf16 of 2^-8 (3.9e-3), compounded over a few operations per sample.
 */
export const TOLERANCES: Record<Scenario["precision"], Tolerance> = {
  fp32: { weight: 1e-4, body: 1e-4 },
  fp16: { weight: 1e-2, body: 3e-2 },
  bf16: { weight: 4e-2, body: 1e-1 },
};

/**
 * The tolerance in force: the one of the precision the trainer ran (`ran`, from the trace's
 * `trainer.precision`), else of the scenario's. A run asked for fp16 that ran fp32 is held to
 * fp32's tolerance, one that ran bf16 to bf16's.
 */
export function toleranceFor(
  scenario: Scenario,
  ran: Scenario["precision"] = scenario.precision,
): Tolerance {
  return TOLERANCES[ran];
}

/** The precision a run really ran: the trainer's `precision` when it said another, else the scenario's. */
export function ranPrecision(
  scenario: Scenario,
  trainer: Pick<TrainerInfo, "precision"> | undefined,
): Scenario["precision"] {
  return trainer?.precision ?? scenario.precision;
}

/**
 * Largest window n for which counting one sample too many (1/(n+1) instead of 1/n, a relative
 * error of 1/(n+1)) is still detected under the tolerance.
 */
export function largestWindowWithDetectableOffByOne(tolerance: number): number {
  return Math.max(0, Math.ceil(1 / tolerance) - 2);
}
