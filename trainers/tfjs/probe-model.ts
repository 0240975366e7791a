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
 * The probe model in TensorFlow.js: the fingerprint parameters phi (one per sample per epoch,
 * flat index epoch x N + sample, initialised 0) and the body's parameters as one flat variable
 * in the order trainers/contract/probe.ts gives. Sample i's loss in epoch e is
 * body_loss_i + c * phi[e][i], e being the epoch tag the trainer sets with {@link setEpoch}.
 */
export class ProbeModel {
  /** phi, length epochs x N. */
  readonly fingerprint: tf.Variable<tf.Rank.R1>;
  /** Body parameters, flattened; null for the fingerprint model. */
  readonly body: tf.Variable<tf.Rank.R1> | null;
  private readonly features: tf.Tensor2D | null;
  private readonly labels: tf.Tensor1D | null;
  private epochTag = 0;

  constructor(
    private readonly scenario: Scenario,
    dataset: Dataset,
    private readonly recorder: Recorder,
  ) {
    this.fingerprint = variableFrom(tf.zeros([scenario.epochs * scenario.datasetSize]));
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

  /** The variables an optimizer updates: phi, then the body when there is one. */
  get variables(): tf.Variable[] {
    return this.body === null ? [this.fingerprint] : [this.fingerprint, this.body];
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
    return tf.tidy(() => {
      const fingerprintIds = tf.tensor1d(
        samples.map((i) => fingerprintIndex(epoch, i, n)),
        "int32",
      );
      const fingerprintTerm = tf.mul(
        this.lookupFingerprint(fingerprintIds),
        FINGERPRINT_COEFFICIENT,
      );
      if (this.body === null) return fingerprintTerm as tf.Tensor1D;
      return tf.add(this.bodyLosses(samples), fingerprintTerm) as tf.Tensor1D;
    });
  }

  /**
   * phi[ids], with its gradient written as a scatter (ScatterNd) rather than gather's default
   * UnsortedSegmentSum, which the wasm backend lacks.
   */
  private lookupFingerprint(ids: tf.Tensor1D): tf.Tensor1D {
    const size = this.fingerprint.size;
    const lookup = tf.customGrad((...inputs: Array<tf.Tensor | tf.GradSaveFunc>) => {
      const [phi, save] = inputs as [tf.Tensor, tf.GradSaveFunc];
      save([ids]);
      return {
        value: tf.gather(phi, ids),
        gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) =>
          tf.scatterND(tf.expandDims(saved[0] as tf.Tensor1D, 1), dy, [size]),
      };
    });
    return lookup(this.fingerprint) as tf.Tensor1D;
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
    this.fingerprint.dispose();
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
