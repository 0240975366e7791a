import { ADAMW_WEIGHT_DECAY } from "../contract/scenario.js";

/** torch.optim.AdamW's hyperparameters under `--optimizer adamw`. */
export const ADAMW = { beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: ADAMW_WEIGHT_DECAY };

const f = Math.fround;

/** The bias corrections of step `count` (1-based), as torch's single-tensor AdamW takes them. */
export interface AdamWStepFactors {
  learningRate: number;
  /** lr / (1 - beta1^count). */
  stepSize: number;
  /** sqrt(1 - beta2^count). */
  correction2Sqrt: number;
}

/** The factors of AdamW's step number `count` (1-based) at `learningRate`. */
export function adamWFactors(learningRate: number, count: number): AdamWStepFactors {
  return {
    learningRate,
    stepSize: learningRate / (1 - ADAMW.beta1 ** count),
    correction2Sqrt: Math.sqrt(1 - ADAMW.beta2 ** count),
  };
}

/**
 * AdamW's moments over a float32 parameter array (phi or the body), updated in float32 as
 * torch's `_single_tensor_adamw` does: θ ← θ(1 − lr·wd); m ← lerp(m, g, 1 − β1);
 * v ← β2·v + (1 − β2)·g²; θ ← θ − (lr / (1 − β1^t))·m / (√v / √(1 − β2^t) + eps).
 *
 * torch updates every entry of a parameter at every step. An entry whose moments and value are
 * all 0 stays 0, so only the entries that ever had a gradient or a value ({@link touch}) are
 * visited: the result is torch's, at the cost of the entries touched so far per step.
 */
export class AdamWMoments {
  private readonly m: Float32Array;
  private readonly v: Float32Array;
  private readonly isActive: Uint8Array;
  private readonly active: number[] = [];

  constructor(readonly size: number) {
    this.m = new Float32Array(size);
    this.v = new Float32Array(size);
    this.isActive = new Uint8Array(size);
  }

  /** Makes AdamW visit these entries from now on (a gradient reached them, or a value was set). */
  touch(indices: ArrayLike<number>): void {
    for (let k = 0; k < indices.length; k++) {
      const index = indices[k] as number;
      if (this.isActive[index] === 1) continue;
      this.isActive[index] = 1;
      this.active.push(index);
    }
  }

  /**
   * One AdamW step of `theta` (changed in place) with the gradient `values` at `indices` (0
   * elsewhere). Returns how many entries without a gradient (0 or none) it moved.
   */
  step(
    theta: Float32Array,
    indices: ArrayLike<number>,
    values: ArrayLike<number>,
    factors: AdamWStepFactors,
  ): number {
    this.touch(indices);
    const gradient = new Map<number, number>();
    for (let k = 0; k < indices.length; k++)
      gradient.set(indices[k] as number, values[k] as number);
    const decay = f(1 - factors.learningRate * ADAMW.weightDecay);
    const stepSize = f(factors.stepSize);
    const correction = f(factors.correction2Sqrt);
    const [w1, beta2, w2, eps] = [
      f(1 - ADAMW.beta1),
      f(ADAMW.beta2),
      f(1 - ADAMW.beta2),
      f(ADAMW.eps),
    ];
    let movedWithoutGradient = 0;
    for (const index of this.active) {
      const g = gradient.get(index) ?? 0;
      const before = theta[index] as number;
      const m = f((this.m[index] as number) + f(w1 * f(g - (this.m[index] as number))));
      const v = f(f((this.v[index] as number) * beta2) + f(w2 * f(g * g)));
      this.m[index] = m;
      this.v[index] = v;
      const denominator = f(f(f(Math.sqrt(v)) / correction) + eps);
      const decayed = f(before * decay);
      const after = f(decayed - f(stepSize * f(m / denominator)));
      theta[index] = after;
      if (after !== before && g === 0) movedWithoutGradient++;
    }
    return movedWithoutGradient;
  }
}
