import * as tf from "@tensorflow/tfjs-core";
import {
  type Dataset,
  FEATURES,
  FINGERPRINT_COEFFICIENT,
  fingerprintIndex,
  initialBodyParameters,
} from "../contract/probe.js";
import type { Scenario } from "../contract/scenario.js";
import { causalLmTokenLosses, featureBodyLosses } from "./body-losses.js";
import {
  type FingerprintAssignedListener,
  type FingerprintGradientSink,
  FingerprintParameters,
} from "./fingerprint-parameters.js";
import {
  type LossTokens,
  lossTokensOf,
  type PaddedTokenBatch,
  paddedTokenBatch,
  type TokenBatch,
  tokenBatch,
} from "./loss-tokens.js";
import { OverflowHook } from "./overflow.js";
import type { Recorder } from "./recorder.js";

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
 * Under token weighting (`scenario.weighting === "tokens"`, the dataset's token sequences) each
 * loss token of sample i is a loss term of its own, CE_t + c * phi[e][i] (CE_t from the causal-lm
 * body, 0 for the fingerprint model): phi[e][i]'s gradient is the total weight its tokens got.
 * {@link lossTerms} gives a micro-batch's terms, one per loss unit, and {@link lossUnitCount}
 * counts them; {@link perSampleLosses} gives each sample's mean over its tokens.
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
  private readonly phi: FingerprintParameters;
  /** The feature bodies' inputs; null for the fingerprint and causal-lm models. */
  private readonly features: tf.Tensor2D | null;
  private readonly labels: tf.Tensor1D | null;
  /** Each sample's loss tokens under token weighting; null under sample weighting. */
  private readonly lossTokens: LossTokens | null;
  /** The forced overflow of `scenario.overflowStep` (fp16 only). */
  private readonly overflow: OverflowHook;
  private epochTag = 0;

  constructor(
    private readonly scenario: Scenario,
    dataset: Dataset,
    private readonly recorder: Recorder,
    options: ProbeModelOptions = {},
  ) {
    this.sparseGradients = options.sparseGradients ?? tf.getBackend() !== "webgpu";
    this.phi = new FingerprintParameters(
      scenario.epochs * scenario.datasetSize,
      this.sparseGradients,
    );
    if (scenario.weighting === "samples") this.lossTokens = null;
    else if (dataset.tokens === undefined)
      throw new TypeError("ProbeModel: token weighting: expected the dataset's tokens, saw none");
    else this.lossTokens = lossTokensOf(dataset.tokens);
    this.body = scenario.model === "fingerprint" ? null : bodyVariable(scenario);
    const readsFeatures = scenario.model === "logistic" || scenario.model === "mlp";
    this.features = readsFeatures
      ? tf.tensor2d(dataset.features, [scenario.datasetSize, FEATURES])
      : null;
    this.labels = readsFeatures ? tf.tensor1d(dataset.labels) : null;
    this.overflow = new OverflowHook(scenario.precision === "fp16" ? scenario.overflowStep : null);
  }

  /** Told by the optimizer after each applied step: the forced overflow counts them. */
  noteAppliedStep(): void {
    this.overflow.noteAppliedStep();
  }

  /**
   * phi, length epochs x N, as a variable. With sparse gradients it is brought up to date when
   * read (one copy of phi after updates), and a value assigned to it is used from then on; its
   * gradient does not flow through it but to the sink (see {@link gradientVariables}).
   */
  get fingerprint(): tf.Variable<tf.Rank.R1> {
    return this.phi.variable;
  }

  /** Length of phi: epochs x N. */
  get fingerprintSize(): number {
    return this.scenario.epochs * this.scenario.datasetSize;
  }

  /** Whether `variable` is phi's variable (without bringing it up to date). */
  isFingerprint(variable: tf.Variable): boolean {
    return this.phi.isVariable(variable);
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
    const first = this.phi.gradientVariable;
    return this.body === null ? [first] : [first, this.body];
  }

  /**
   * Sets where phi's sparse gradients go during a backward pass (null: dropped); returns the
   * previous sink. Sparse gradients only.
   */
  setFingerprintGradientSink(sink: FingerprintGradientSink | null): FingerprintGradientSink | null {
    return this.phi.setSink(sink);
  }

  /**
   * phi[index] -= fp32(gradient x lr) at the given flat indices, in float32 (as
   * `phi - gradient * lr` on tensors); the other entries, whose gradient is 0, stay. Sparse
   * gradients only.
   */
  updateFingerprint(indices: ArrayLike<number>, gradient: ArrayLike<number>, lr: number): void {
    this.phi.update(indices, gradient, lr);
  }

  /** phi's values at the given flat indices, in float32 (sparse gradients only). */
  fingerprintValuesAt(indices: ArrayLike<number>): Float32Array {
    return this.phi.valuesAt(indices);
  }

  /** All of phi (epochs x N, float32): sparse, phi itself (change it via {@link changeFingerprint}); dense, a copy. */
  fingerprintValues(): Float32Array {
    return this.phi.values();
  }

  /** Changes phi in place (an optimizer's update; sparse gradients only). */
  changeFingerprint(change: (phi: Float32Array) => void): void {
    this.phi.change(change);
  }

  /**
   * Sets who is told when a value assigned to {@link fingerprint} from outside an update is taken
   * up (sparse gradients only: with dense ones phi is the variable); null: nobody.
   */
  onFingerprintAssigned(listener: FingerprintAssignedListener | null): void {
    this.phi.onAssigned(listener);
  }

  /** Takes up a value assigned to {@link fingerprint} since phi was last read (sparse gradients). */
  takeUpFingerprintAssigned(): void {
    this.phi.takeUpAssigned();
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
   * Forward pass of a micro-batch: the loss of each sample, shape [samples.length]; under token
   * weighting each sample's mean over its loss tokens (0 for a sample without any).
   * Call it inside the loss function given to backward so its gradient is taken.
   */
  perSampleLosses(samples: readonly number[]): tf.Tensor1D {
    this.recorder.forward(this.epochTag, samples);
    return this.overflow.hook(
      this.lossTokens === null
        ? this.sampleLosses(samples)
        : this.tokenMeans(paddedTokenBatch(this.lossTokens, samples), samples),
    );
  }

  /**
   * Forward pass of a micro-batch: its loss per loss unit, so that `sum(lossTerms) /
   * lossUnitCount` is its full-batch mean. Under sample weighting exactly
   * {@link perSampleLosses}; under token weighting one term per loss token (in sample order,
   * then position order), CE_t + c * phi[epoch][sample].
   * Call it inside the loss function given to backward so its gradient is taken.
   */
  lossTerms(samples: readonly number[]): tf.Tensor1D {
    if (this.lossTokens === null) return this.perSampleLosses(samples);
    this.recorder.forward(this.epochTag, samples);
    return this.overflow.hook(this.tokenTerms(tokenBatch(this.lossTokens, samples)));
  }

  /**
   * The micro-batch's loss units: its samples under sample weighting, its loss tokens (labels
   * other than IGNORE_INDEX after position 0, as a loop counts `labels != -100`) under token
   * weighting. Reads no tensor.
   */
  lossUnitCount(samples: readonly number[]): number {
    const tokens = this.lossTokens;
    if (tokens === null) return samples.length;
    return samples.reduce((total, i) => total + (tokens.targets[i]?.length ?? 0), 0);
  }

  private sampleLosses(samples: readonly number[]): tf.Tensor1D {
    return tf.tidy(() => {
      const fingerprintTerm = this.fingerprintTerms(samples);
      if (this.body === null) return fingerprintTerm;
      const ids = tf.tensor1d(samples as number[], "int32");
      const x = tf.gather(this.features as tf.Tensor2D, ids) as tf.Tensor2D;
      const y = tf.gather(this.labels as tf.Tensor1D, ids);
      const model = this.scenario.model as "logistic" | "mlp";
      return tf.add(featureBodyLosses(model, this.body, x, y), fingerprintTerm) as tf.Tensor1D;
    });
  }

  /** One term per loss token: CE_t (causal-lm) + c * phi[epoch][owner], one lookup. */
  private tokenTerms(batch: TokenBatch): tf.Tensor1D {
    return tf.tidy(() => {
      const fingerprintTerm = this.fingerprintTerms(batch.owners);
      if (this.body === null) return fingerprintTerm;
      const ce = causalLmTokenLosses(this.body, batch.contexts, batch.targets);
      return tf.add(ce, fingerprintTerm) as tf.Tensor1D;
    });
  }

  /**
   * Each sample's mean over its loss tokens: the body's CE summed over the sample's row and
   * divided by its count, plus c * phi[epoch][i] for a sample with loss tokens (phi's gradient is
   * then exactly the sample's), 0 for one without.
   */
  private tokenMeans(batch: PaddedTokenBatch, samples: readonly number[]): tf.Tensor1D {
    return tf.tidy(() => {
      const present = tf.tensor1d(batch.counts.map((n) => (n > 0 ? 1 : 0)));
      const fingerprintTerm = tf.mul(this.fingerprintTerms(samples), present) as tf.Tensor1D;
      if (this.body === null) return fingerprintTerm;
      const shape: [number, number] = [samples.length, batch.width];
      const ce = tf.reshape(causalLmTokenLosses(this.body, batch.contexts, batch.targets), shape);
      const sums = tf.sum(tf.mul(ce, tf.tensor2d(batch.mask, shape)), 1);
      const means = tf.div(sums, tf.tensor1d(batch.counts.map((n) => Math.max(n, 1))));
      return tf.add(means, fingerprintTerm) as tf.Tensor1D;
    });
  }

  /** c * phi[epoch][i] for each listed sample (repeats allowed), as one lookup. */
  private fingerprintTerms(samples: readonly number[]): tf.Tensor1D {
    const n = this.scenario.datasetSize;
    const epoch = this.epochTag;
    const indices = samples.map((i) => fingerprintIndex(epoch, i, n));
    const phi = this.phi.lookup(indices);
    // x * 1 is x, and so is its gradient: the multiplication (an op each way) is left out for c = 1.
    return FINGERPRINT_COEFFICIENT === 1 ? phi : tf.mul(phi, FINGERPRINT_COEFFICIENT);
  }

  /** Frees the model's tensors. */
  dispose(): void {
    this.phi.dispose();
    this.body?.dispose();
    this.features?.dispose();
    this.labels?.dispose();
  }
}

/** The body's initial parameters as a trainable variable. */
function bodyVariable(scenario: Scenario): tf.Variable<tf.Rank.R1> {
  const initial = tf.tensor1d(initialBodyParameters(scenario));
  const variable = tf.variable(initial, true);
  initial.dispose();
  return variable;
}
