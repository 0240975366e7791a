import * as tf from "@tensorflow/tfjs-core";
import type { GradientBuffer } from "./gradients.js";
import type { LossScaler } from "./loss-scaler.js";
import type { ProbeModel } from "./probe-model.js";
import type { Recorder } from "./recorder.js";

/**
 * Plain SGD over the probe model's accumulated gradients, with `scaler.step(optimizer);
 * scaler.update()` folded in when a loss scaler is present: the gradient is unscaled, a step
 * whose gradient holds inf/nan is skipped and the scale lowered. Every call is recorded.
 */
export class SgdOptimizer {
  constructor(
    private readonly model: ProbeModel,
    private readonly gradients: GradientBuffer,
    private readonly learningRate: number,
    private readonly scaler: LossScaler | null,
    private readonly recorder: Recorder,
  ) {}

  /** The loss scale in force, when the loss is scaled. */
  get lossScale(): number | undefined {
    return this.scaler?.scale;
  }

  /** `optimizer.step()`; returns false when the step was skipped for inf/nan. */
  step(): boolean {
    return this.model.sparseGradients ? this.sparseStep() : this.denseStep();
  }

  /**
   * The step with phi's gradient sparse: unscaling, the finite check and the update run over the
   * touched entries only, in float32 as the tensor operations do (an untouched entry's gradient
   * is 0: finite, and it leaves phi as it is).
   */
  private sparseStep(): boolean {
    const epoch = this.model.epoch;
    const scale = this.scaler?.scale;
    const fingerprint = this.gradients.readFingerprint();
    const body = this.model.body;
    let bodyGradient = body === null ? null : this.gradients.read(body);
    try {
      if (scale !== undefined) {
        const s = Math.fround(scale);
        const { values } = fingerprint;
        for (let k = 0; k < values.length; k++) values[k] = (values[k] as number) / s;
        if (bodyGradient !== null) {
          const gradient = bodyGradient;
          bodyGradient = tf.tidy(() => tf.div(gradient, scale));
          gradient.dispose();
        }
      }
      if (
        this.scaler !== null &&
        !(
          fingerprint.values.every(Number.isFinite) && allFinite(bodyGradient ? [bodyGradient] : [])
        )
      ) {
        this.recorder.skipped(epoch, scale);
        this.scaler.update(true);
        return false;
      }
      this.recorder.applied({
        epoch,
        fingerprint,
        body:
          body === null || bodyGradient === null
            ? null
            : { parametersBefore: body, gradient: bodyGradient },
        ...(scale === undefined ? {} : { lossScale: scale }),
      });
      this.model.updateFingerprint(fingerprint.indices, fingerprint.values, this.learningRate);
      if (body !== null && bodyGradient !== null) {
        const gradient = bodyGradient;
        const updated = tf.tidy(() => tf.sub(body, tf.mul(gradient, this.learningRate)));
        body.assign(updated as tf.Tensor1D);
        updated.dispose();
      }
      this.scaler?.update(false);
      return true;
    } finally {
      bodyGradient?.dispose();
    }
  }

  /** The step with phi's gradient dense (backends without synchronous reads). */
  private denseStep(): boolean {
    const epoch = this.model.epoch;
    const scale = this.scaler?.scale;
    const applied = this.model.variables.map((variable) => {
      const gradient = this.gradients.read(variable);
      if (scale === undefined) return gradient;
      const unscaled = tf.tidy(() => tf.div(gradient, scale));
      gradient.dispose();
      return unscaled;
    });
    try {
      if (this.scaler !== null && !allFinite(applied)) {
        this.recorder.skipped(epoch, scale);
        this.scaler.update(true);
        return false;
      }
      const [fingerprintGradient, bodyGradient] = applied as [tf.Tensor, tf.Tensor | undefined];
      const body = this.model.body;
      this.recorder.applied({
        epoch,
        fingerprintGradient,
        body:
          body === null || bodyGradient === undefined
            ? null
            : { parametersBefore: body, gradient: bodyGradient },
        ...(scale === undefined ? {} : { lossScale: scale }),
      });
      this.model.variables.forEach((variable, k) => {
        const gradient = applied[k] as tf.Tensor;
        const updated = tf.tidy(() => tf.sub(variable, tf.mul(gradient, this.learningRate)));
        variable.assign(updated);
        updated.dispose();
      });
      this.scaler?.update(false);
      return true;
    } finally {
      for (const tensor of applied) tensor.dispose();
    }
  }

  /** `optimizer.zero_grad()`. */
  zeroGrad(): void {
    this.gradients.zero();
  }
}

function allFinite(tensors: tf.Tensor[]): boolean {
  return tensors.every((tensor) => tf.tidy(() => tf.all(tf.isFinite(tensor)).dataSync()[0] === 1));
}
