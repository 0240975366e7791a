import * as tf from "@tensorflow/tfjs-core";

/**
 * The probe's forced fp16 overflow (`scenario.overflowStep` S): the first backward pass after S − 1
 * applied optimizer steps gets an infinite gradient, once, as a tensor hook on the probe's output
 * would give it (the loss stays finite), so a loss scaler skips that step. Without S (null) it
 * does nothing.
 */
export class OverflowHook {
  private appliedSteps = 0;
  private fired = false;

  constructor(private readonly window: number | null | undefined) {}

  /** Counts an applied optimizer step. */
  noteAppliedStep(): void {
    this.appliedSteps += 1;
  }

  /**
   * The probe's output, unchanged in value; while the overflow is due, its gradient becomes
   * dy x Infinity in the first backward pass through it.
   */
  hook(output: tf.Tensor1D): tf.Tensor1D {
    if (this.window == null || this.fired || this.appliedSteps !== this.window - 1) return output;
    const hooked = tf.customGrad((...inputs: Array<tf.Tensor | tf.GradSaveFunc>) => {
      const x = inputs[0] as tf.Tensor;
      return {
        value: tf.clone(x),
        gradFunc: (dy: tf.Tensor) => {
          if (this.fired) return tf.clone(dy);
          this.fired = true;
          return tf.mul(dy, Number.POSITIVE_INFINITY);
        },
      };
    });
    return hooked(output) as tf.Tensor1D;
  }
}
