import * as tf from "@tensorflow/tfjs-core";
// tfjs-core's Node build registers no gradient functions (its ESM files that do cannot be loaded
// by Node); the @tensorflow/tfjs bundle registers them all in tfjs-core's shared registry.
import "@tensorflow/tfjs";
import type { LossScaler } from "./loss-scaler.js";
import { gradientRounding } from "./precision.js";
import type { Precision } from "./types.js";

/**
 * The accumulated gradients of the model's variables: PyTorch's `.grad`. Each
 * {@link backward} adds the gradient of one loss; nothing clears them but {@link zero}.
 *
 * Precision emulation happens here: in fp16 the gradient of (lossScale x loss) is computed in
 * fp32, rounded to half precision (overflow gives +-Infinity) and accumulated in fp32; in bf16
 * each micro-batch's gradient is rounded to bfloat16, without loss scaling.
 */
export class GradientBuffer {
  private readonly accumulated = new Map<tf.Variable, tf.Tensor>();
  private readonly round: ((x: number) => number) | null;

  constructor(
    private readonly variables: tf.Variable[],
    precision: Precision,
    private readonly scaler: LossScaler | null,
  ) {
    this.round = gradientRounding(precision);
  }

  /** `loss.backward()`: adds the gradient of `loss()` (scaled by the loss scale, if any). */
  backward(loss: () => tf.Scalar): void {
    const scale = this.scaler?.scale ?? 1;
    const { value, grads } = tf.variableGrads(
      () => (scale === 1 ? loss() : tf.mul(loss(), scale)),
      this.variables,
    );
    value.dispose();
    for (const variable of this.variables) {
      const computed = grads[variable.name];
      if (computed === undefined) continue;
      const gradient = this.round === null ? computed : this.rounded(computed);
      const previous = this.accumulated.get(variable);
      if (previous === undefined) this.accumulated.set(variable, gradient);
      else {
        this.accumulated.set(variable, tf.add(previous, gradient));
        previous.dispose();
        gradient.dispose();
      }
    }
  }

  private rounded(gradient: tf.Tensor): tf.Tensor {
    const round = this.round as (x: number) => number;
    const values = Float32Array.from(gradient.dataSync(), round);
    const result = tf.tensor(values, gradient.shape, "float32");
    gradient.dispose();
    return result;
  }

  /** `p.grad /= divisor` for every variable (the reference's division by the window's sample count). */
  divide(divisor: number): void {
    for (const [variable, gradient] of this.accumulated) {
      this.accumulated.set(
        variable,
        tf.tidy(() => tf.div(gradient, divisor)),
      );
      gradient.dispose();
    }
  }

  /** The accumulated gradient of a variable; zeros when nothing was accumulated. The caller disposes it. */
  read(variable: tf.Variable): tf.Tensor {
    const gradient = this.accumulated.get(variable);
    return gradient === undefined ? tf.zerosLike(variable) : tf.clone(gradient);
  }

  /** `optimizer.zero_grad()`. */
  zero(): void {
    for (const gradient of this.accumulated.values()) gradient.dispose();
    this.accumulated.clear();
  }
}
