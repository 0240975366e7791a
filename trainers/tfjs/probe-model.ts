import * as tf from "@tensorflow/tfjs-core";
import {
  type Dataset,
  FEATURES,
  FINGERPRINT_COEFFICIENT,
  fingerprintIndex,
  HIDDEN,
  initialBodyParameters,
} from "../contract/probe.js";
import type { Scenario } from "../contract/scenario.js";
import type { Recorder } from "./recorder.js";

/**
 * Receives the fingerprint part of a backward pass, sparsely: the flat indices phi was read at
 * by one lookup (one {@link ProbeModel.perSampleLosses} call) and the gradient flowing to each
 * read value, in the order of the lookup's samples.
 */
export type FingerprintGradientSink = (indices: readonly number[], gradient: Float32Array) => void;

/** How phi is held and differentiated; see {@link ProbeModel}. */
export interface ProbeModelOptions {
  /**
   * true (the default on backends that read tensors synchronously: all but webgpu): phi lives in
   * a float32 array on the JS side and its gradient is handed to the {@link FingerprintGradientSink}
   * sparsely (only the looked-up indices), so nothing of length epochs x N is built per
   * micro-batch or per step. false: phi is differentiated as a dense variable (a gradient of
   * length epochs x N per micro-batch), as backends without synchronous reads need.
   */
  sparseGradients?: boolean;
}

/**
 * The probe model in TensorFlow.js: the fingerprint parameters phi (one per sample per epoch,
 * flat index epoch x N + sample, initialised 0) and the body's parameters as one flat variable
 * in the order trainers/contract/probe.ts gives. Sample i's loss in epoch e is
 * body_loss_i + c * phi[e][i], e being the epoch tag the trainer sets with {@link setEpoch}.
 *
 * With sparse gradients (the default, see {@link ProbeModelOptions}) phi's values live in a JS
 * float32 array; {@link fingerprint} is a tf.Variable kept in step with it when read, and a value
 * assigned to that variable is taken up by the next forward pass or update. The loss reaches phi
 * through a scalar anchor variable, so that `tf.variableGrads` over {@link gradientVariables}
 * computes the body's gradient densely while phi's goes to the sink sparsely.
 */
export class ProbeModel {
  /** Body parameters, flattened; null for the fingerprint model. */
  readonly body: tf.Variable<tf.Rank.R1> | null;
  /** Whether phi's gradient is sparse (see {@link ProbeModelOptions}). */
  readonly sparseGradients: boolean;
  private readonly phiVariable: tf.Variable<tf.Rank.R1>;
  /** phi on the JS side (sparse gradients only); the truth unless the variable was assigned since. */
  private readonly phi: Float32Array | null;
  /** The variable's data when it last matched {@link phi}; a different one means it was assigned. */
  private syncedData: object;
  /** Whether the variable holds phi's current values. */
  private variableCurrent = true;
  /** Scalar the sparse lookup hangs its gradient on (value 0, gradient 0). */
  private readonly anchor: tf.Variable<tf.Rank.R0> | null;
  private sink: FingerprintGradientSink | null = null;
  private readonly features: tf.Tensor2D | null;
  private readonly labels: tf.Tensor1D | null;
  private epochTag = 0;

  constructor(
    private readonly scenario: Scenario,
    dataset: Dataset,
    private readonly recorder: Recorder,
    options: ProbeModelOptions = {},
  ) {
    this.sparseGradients = options.sparseGradients ?? tf.getBackend() !== "webgpu";
    const size = scenario.epochs * scenario.datasetSize;
    this.phiVariable = variableFrom(tf.zeros([size]));
    this.syncedData = this.phiVariable.dataId;
    if (this.sparseGradients) {
      this.phi = new Float32Array(size);
      const zero = tf.scalar(0);
      this.anchor = tf.variable(zero, true) as tf.Variable<tf.Rank.R0>;
      zero.dispose();
    } else {
      this.phi = null;
      this.anchor = null;
    }
    if (scenario.model === "fingerprint") {
      this.body = null;
      this.features = null;
      this.labels = null;
    } else {
      this.body = variableFrom(tf.tensor1d(initialBodyParameters(scenario)));
      this.features = tf.tensor2d(dataset.features, [scenario.datasetSize, FEATURES]);
      this.labels = tf.tensor1d(dataset.labels);
    }
  }

  /**
   * phi, length epochs x N, as a variable. With sparse gradients it is brought up to date when
   * read (one copy of phi after updates), and a value assigned to it is used from then on; its
   * gradient does not flow through it but to the sink (see {@link gradientVariables}).
   */
  get fingerprint(): tf.Variable<tf.Rank.R1> {
    const phi = this.currentPhi();
    if (phi !== null && !this.variableCurrent) {
      const values = tf.tensor1d(phi);
      this.phiVariable.assign(values);
      values.dispose();
      this.syncedData = this.phiVariable.dataId;
      this.variableCurrent = true;
    }
    return this.phiVariable;
  }

  /** Whether `variable` is phi's variable (without bringing it up to date). */
  isFingerprint(variable: tf.Variable): boolean {
    return variable === this.phiVariable;
  }

  /** The model's parameters: phi, then the body when there is one. */
  get variables(): tf.Variable[] {
    return this.body === null ? [this.fingerprint] : [this.fingerprint, this.body];
  }

  /**
   * The variables to take `tf.variableGrads` over: with dense gradients {@link variables}; with
   * sparse ones the anchor (whose own gradient is 0 and carries no information) in phi's place.
   */
  get gradientVariables(): tf.Variable[] {
    const first = this.anchor ?? this.fingerprint;
    return this.body === null ? [first] : [first, this.body];
  }

  /**
   * Sets where phi's sparse gradients go during a backward pass (null: dropped); returns the
   * previous sink. Sparse gradients only.
   */
  setFingerprintGradientSink(sink: FingerprintGradientSink | null): FingerprintGradientSink | null {
    const previous = this.sink;
    this.sink = sink;
    return previous;
  }

  /**
   * phi[index] -= fp32(gradient x learningRate) at the given flat indices, in float32 (as
   * `phi - gradient * lr` on tensors); the other entries, whose gradient is 0, stay. Sparse
   * gradients only.
   */
  updateFingerprint(
    indices: ArrayLike<number>,
    gradient: ArrayLike<number>,
    learningRate: number,
  ): void {
    const phi = this.currentPhi();
    if (phi === null) throw new Error("updateFingerprint: expected sparse gradients, saw dense");
    const lr = Math.fround(learningRate);
    for (let k = 0; k < indices.length; k++) {
      const index = indices[k] as number;
      phi[index] = Math.fround((phi[index] as number) - Math.fround((gradient[k] as number) * lr));
    }
    if (indices.length > 0) this.variableCurrent = false;
  }

  /** The JS-side phi, first taking up a value assigned to the variable; null with dense gradients. */
  private currentPhi(): Float32Array | null {
    const phi = this.phi;
    if (phi === null) return null;
    if (this.phiVariable.dataId !== this.syncedData) {
      phi.set(this.phiVariable.dataSync());
      this.syncedData = this.phiVariable.dataId;
      this.variableCurrent = true;
    }
    return phi;
  }

  /** The epoch tag the next forward passes carry (set it at the start of each epoch). */
  get epoch(): number {
    return this.epochTag;
  }

  /** Sets the epoch tag: forward passes from now on use phi[epoch][*]. */
  setEpoch(epoch: number): void {
    if (!Number.isInteger(epoch) || epoch < 0 || epoch >= this.scenario.epochs)
      throw new RangeError(
        `setEpoch: expected a whole number from 0 to ${this.scenario.epochs - 1}, saw ${epoch}`,
      );
    this.epochTag = epoch;
  }

  /**
   * Forward pass of a micro-batch: the loss of each sample, shape [samples.length].
   * Call it inside the loss function given to backward so its gradient is taken.
   */
  perSampleLosses(samples: readonly number[]): tf.Tensor1D {
    this.recorder.forward(this.epochTag, samples);
    const n = this.scenario.datasetSize;
    const epoch = this.epochTag;
    const indices = samples.map((i) => fingerprintIndex(epoch, i, n));
    return tf.tidy(() => {
      const fingerprintTerm = tf.mul(
        this.phi === null ? this.lookupDense(indices) : this.lookupSparse(indices),
        FINGERPRINT_COEFFICIENT,
      );
      if (this.body === null) return fingerprintTerm as tf.Tensor1D;
      return tf.add(this.bodyLosses(samples), fingerprintTerm) as tf.Tensor1D;
    });
  }

  /**
   * phi[indices] as a tensor built from the JS-side phi, hung on the anchor: its gradient (the
   * gradient of each read value) goes to the sink, the anchor's is 0.
   */
  private lookupSparse(indices: readonly number[]): tf.Tensor1D {
    const phi = this.currentPhi() as Float32Array;
    const values = Float32Array.from(indices, (index) => phi[index] as number);
    const lookup = tf.customGrad((...inputs: Array<tf.Tensor | tf.GradSaveFunc>) => {
      const anchor = inputs[0] as tf.Tensor;
      return {
        value: tf.tensor1d(values),
        gradFunc: (dy: tf.Tensor) => {
          this.sink?.(indices, Float32Array.from(dy.dataSync()));
          return tf.zerosLike(anchor);
        },
      };
    });
    return lookup(this.anchor as tf.Variable) as tf.Tensor1D;
  }

  /**
   * phi[indices] off the variable, with its gradient written as a scatter (ScatterNd) rather
   * than gather's default UnsortedSegmentSum, which the wasm backend lacks. Dense gradients.
   */
  private lookupDense(indices: readonly number[]): tf.Tensor1D {
    const size = this.phiVariable.size;
    const ids = tf.tensor1d(indices as number[], "int32");
    const lookup = tf.customGrad((...inputs: Array<tf.Tensor | tf.GradSaveFunc>) => {
      const [phi, save] = inputs as [tf.Tensor, tf.GradSaveFunc];
      save([ids]);
      return {
        value: tf.gather(phi, ids),
        gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) =>
          tf.scatterND(tf.expandDims(saved[0] as tf.Tensor1D, 1), dy, [size]),
      };
    });
    return lookup(this.phiVariable) as tf.Tensor1D;
  }

  private bodyLosses(samples: readonly number[]): tf.Tensor1D {
    const body = this.body as tf.Variable<tf.Rank.R1>;
    const ids = tf.tensor1d(samples as number[], "int32");
    const x = tf.gather(this.features as tf.Tensor2D, ids) as tf.Tensor2D;
    const y = tf.gather(this.labels as tf.Tensor1D, ids);
    let logits: tf.Tensor1D;
    if (this.scenario.model === "logistic") {
      const w = tf.reshape(tf.slice(body, [0], [FEATURES]), [FEATURES, 1]) as tf.Tensor2D;
      const b = tf.slice(body, [FEATURES], [1]);
      logits = tf.add(tf.reshape(tf.matMul(x, w), [samples.length]), b);
    } else {
      let offset = 0;
      const take = (size: number) => {
        const part = tf.slice(body, [offset], [size]);
        offset += size;
        return part;
      };
      const w1 = tf.reshape(take(HIDDEN * FEATURES), [HIDDEN, FEATURES]) as tf.Tensor2D;
      const b1 = take(HIDDEN);
      const w2 = tf.reshape(take(HIDDEN), [HIDDEN, 1]) as tf.Tensor2D;
      const b2 = take(1);
      const hidden = tf.tanh(tf.add(tf.matMul(x, w1, false, true), b1)) as tf.Tensor2D;
      logits = tf.add(tf.reshape(tf.matMul(hidden, w2), [samples.length]), b2);
    }
    // BCE with logits: softplus(z) - y z.
    return tf.sub(tf.softplus(logits), tf.mul(y, logits));
  }

  /** Frees the model's tensors. */
  dispose(): void {
    this.phiVariable.dispose();
    this.anchor?.dispose();
    this.body?.dispose();
    this.features?.dispose();
    this.labels?.dispose();
  }
}

/** A trainable variable holding `initial`'s values; `initial` itself is disposed. */
function variableFrom(initial: tf.Tensor1D): tf.Variable<tf.Rank.R1> {
  const variable = tf.variable(initial, true);
  initial.dispose();
  return variable;
}
