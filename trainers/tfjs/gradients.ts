import * as tf from "@tensorflow/tfjs-core";
// tfjs-core's Node build registers no gradient functions (its ESM files that do cannot be loaded
// by Node); the @tensorflow/tfjs bundle registers them all in tfjs-core's shared registry.
import "@tensorflow/tfjs";
import type { LossScaler } from "./loss-scaler.js";
import { gradientRounding } from "./precision.js";
import type { ProbeModel } from "./probe-model.js";
import { SparseFloat32Sums } from "./sparse-sum.js";
import type { Precision } from "./types.js";

/**
 * The accumulated gradient of phi, sparse: the flat indices some backward pass touched, in
 * ascending order, and the float32 value at each (possibly 0, inf or nan). Every other entry is 0.
 */
export interface SparseGradient {
  indices: Int32Array;
  values: Float32Array;
}

/**
 * The accumulated gradients of the model's variables: PyTorch's `.grad`. Each
 * {@link backward} adds the gradient of one loss; nothing clears them but {@link zero}.
 *
 * Precision emulation happens here: in fp16 the gradient of (lossScale x loss) is computed in
 * fp32, rounded to half precision (overflow gives +-Infinity) and accumulated in fp32; in bf16
 * each micro-batch's gradient is rounded to bfloat16, without loss scaling.
 *
 * With a model on sparse gradients (see ProbeModel) phi's gradient is kept sparse: the flat
 * indices touched since the last {@link zero} and their float32 sums ({@link SparseFloat32Sums}),
 * so a backward pass costs the micro-batch's size, not epochs x N. Every float32 operation is the
 * one the dense tensors did (each entry rounded to float32), so the values are the same bit for
 * bit.
 * The body's gradient stays a dense tensor.
 */
export class GradientBuffer {
  private readonly accumulated = new Map<tf.Variable, tf.Tensor>();
  /** phi's accumulated gradient by flat index (sparse gradients). */
  private readonly fingerprint: SparseFloat32Sums;
  /** One backward pass's gradient of phi, and one lookup's (sparse gradients). */
  private readonly pass: SparseFloat32Sums;
  private readonly lookup: SparseFloat32Sums;
  private readonly round: ((x: number) => number) | null;
  private readonly variables: tf.Variable[];

  constructor(
    private readonly model: ProbeModel,
    precision: Precision,
    private readonly scaler: LossScaler | null,
  ) {
    this.round = gradientRounding(precision);
    this.variables = model.gradientVariables;
    const size = model.sparseGradients ? model.fingerprintSize : 0;
    this.fingerprint = new SparseFloat32Sums(size);
    this.pass = new SparseFloat32Sums(size);
    this.lookup = new SparseFloat32Sums(size);
  }

  /** `loss.backward()`: adds the gradient of `loss()` (scaled by the loss scale, if any). */
  backward(loss: () => tf.Scalar): void {
    const scale = this.scaler?.scale ?? 1;
    // phi's gradient from this loss, summed over its lookups in float32 as the tape would.
    const { pass, lookup } = this;
    pass.clear();
    const previousSink = this.model.sparseGradients
      ? this.model.setFingerprintGradientSink((indices, gradient) => {
          // One lookup: a scatter of its values into zeros (a repeated index summed in order,
          // -0 landing as 0, as ScatterNd does) added to the rest.
          lookup.clear();
          for (let k = 0; k < indices.length; k++)
            lookup.add(indices[k] as number, 0 + (gradient[k] as number));
          lookup.addTo(pass);
        })
      : null;
    let grads: tf.NamedTensorMap;
    try {
      const result = tf.variableGrads(
        () => (scale === 1 ? loss() : tf.mul(loss(), scale)),
        this.variables,
      );
      result.value.dispose();
      grads = result.grads;
    } finally {
      if (this.model.sparseGradients) this.model.setFingerprintGradientSink(previousSink);
    }
    pass.addTo(this.fingerprint, this.round ?? undefined);
    this.variables.forEach((variable, k) => {
      const computed = grads[variable.name];
      if (computed === undefined) return;
      // The anchor standing in for phi: its gradient is 0 and phi's went to the sink.
      if (k === 0 && this.model.sparseGradients) {
        computed.dispose();
        return;
      }
      const gradient = this.round === null ? computed : this.rounded(computed);
      const previous = this.accumulated.get(variable);
      if (previous === undefined) this.accumulated.set(variable, gradient);
      else {
        this.accumulated.set(variable, tf.add(previous, gradient));
        previous.dispose();
        gradient.dispose();
      }
    });
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
    const d = Math.fround(divisor);
    this.fingerprint.update((g) => g / d);
    for (const [variable, gradient] of this.accumulated) {
      this.accumulated.set(
        variable,
        tf.tidy(() => tf.div(gradient, divisor)),
      );
      gradient.dispose();
    }
  }

  /** `p.grad *= factor` for every variable, in float32 (clipping's scaling). */
  multiply(factor: number): void {
    const c = Math.fround(factor);
    this.fingerprint.update((g) => g * c);
    for (const [variable, gradient] of this.accumulated) {
      this.accumulated.set(
        variable,
        tf.tidy(() => tf.mul(gradient, c)),
      );
      gradient.dispose();
    }
  }

  /** The sum of squares of every accumulated gradient entry (phi's and the body's), in float64. */
  squaredNorm(): number {
    let squares = 0;
    this.fingerprint.forEach((_, g) => {
      squares += g * g;
    });
    for (const gradient of this.accumulated.values())
      for (const g of gradient.dataSync()) squares += g * g;
    return squares;
  }

  /**
   * The accumulated gradient of a variable; zeros when nothing was accumulated. The caller
   * disposes it. For phi on sparse gradients this builds the dense gradient (length epochs x N):
   * the optimizer reads {@link readFingerprint} instead.
   */
  read(variable: tf.Variable): tf.Tensor {
    if (this.model.sparseGradients && this.model.isFingerprint(variable)) {
      const { indices, values } = this.readFingerprint();
      const dense = new Float32Array(variable.size);
      indices.forEach((index, k) => {
        dense[index] = values[k] as number;
      });
      return tf.tensor(dense, variable.shape, "float32");
    }
    const gradient = this.accumulated.get(variable);
    return gradient === undefined ? tf.zerosLike(variable) : tf.clone(gradient);
  }

  /** phi's accumulated gradient, sparse, indices ascending (a copy); empty on dense gradients. */
  readFingerprint(): SparseGradient {
    return this.fingerprint.sorted();
  }

  /** `optimizer.zero_grad()`. */
  zero(): void {
    for (const gradient of this.accumulated.values()) gradient.dispose();
    this.accumulated.clear();
    this.fingerprint.clear();
  }
}
