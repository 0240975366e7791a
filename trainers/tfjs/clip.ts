import type { GradientBuffer } from "./gradients.js";

/**
 * `torch.nn.utils.clip_grad_norm_(model.parameters(), maxNorm)`: scales the accumulated gradient
 * of every parameter (phi and the body) by min(1, maxNorm / (‖g‖ + 1e-6)), ‖g‖ the global L2 norm
 * over all of them. Returns ‖g‖. A non-finite norm leaves the gradient non-finite (inf x 0 is
 * NaN), so a loss scaler still skips the step.
 */
export function clipGradNorm(gradients: GradientBuffer, maxNorm: number): number {
  const norm = Math.sqrt(gradients.squaredNorm());
  const factor = Math.min(1, maxNorm / (norm + 1e-6));
  if (!(factor >= 1)) gradients.multiply(factor);
  return norm;
}
