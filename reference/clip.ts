import { FINGERPRINT_COEFFICIENT } from "../trainers/contract/probe.js";

/**
 * The factor clipping to global L2 norm `clipNorm` multiplies a gradient by, as
 * `torch.nn.utils.clip_grad_norm_` computes it: min(1, C / (‖g‖ + 1e-6)), with ‖g‖ over every
 * parameter: the window's fingerprint entries (each weight times the fingerprint coefficient) and
 * the body gradient. In float64.
 */
export function clipFactor(
  clipNorm: number,
  fingerprintWeights: Iterable<number>,
  body: readonly number[] | null,
): number {
  let squares = 0;
  for (const weight of fingerprintWeights) squares += (weight * FINGERPRINT_COEFFICIENT) ** 2;
  for (const g of body ?? []) squares += g * g;
  return Math.min(1, clipNorm / (Math.sqrt(squares) + 1e-6));
}
