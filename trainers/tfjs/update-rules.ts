import * as tf from "@tensorflow/tfjs-core";
import { AdamWMoments, adamWFactors } from "./adamw.js";
import type { SparseGradient } from "./gradients.js";
import type { ProbeModel } from "./probe-model.js";

/** An applied gradient: phi's, sparse, and the body's (null for the fingerprint model). */
export interface StepGradient {
  fingerprint: SparseGradient;
  body: tf.Tensor | null;
}

/**
 * How an optimizer moves the probe's parameters (phi held in JS, sparse gradients) by a gradient.
 * `record` is the trace's update rule: "sgd" moves each entry by lr·g exactly, "other" anything else.
 */
export interface UpdateRule {
  readonly record: "sgd" | "other";
  /** The optimizer's own step count (torch's `state[p]["step"]`); undefined when it keeps none. */
  readonly count: number | undefined;
  /** Applies one step; returns how many phi entries without a gradient it moved. */
  apply(model: ProbeModel, gradient: StepGradient, learningRate: number): number;
  /** Hears of phi entries a value was assigned to, outside the steps. */
  touch(indices: readonly number[]): void;
}

/** Plain SGD: θ ← θ − lr·g, in float32; phi only at the gradient's entries (0 elsewhere). */
export class SgdRule implements UpdateRule {
  readonly record = "sgd";
  readonly count = undefined;

  apply(model: ProbeModel, gradient: StepGradient, learningRate: number): number {
    const { indices, values } = gradient.fingerprint;
    model.updateFingerprint(indices, values, learningRate);
    const body = model.body;
    const g = gradient.body;
    if (body !== null && g !== null) {
      const updated = tf.tidy(() => tf.sub(body, tf.mul(g, learningRate)));
      body.assign(updated as tf.Tensor1D);
      updated.dispose();
    }
    return 0;
  }

  touch(): void {}
}

/**
 * torch.optim.AdamW (see {@link AdamWMoments}) over phi and the body, with one step count that
 * advances at every applied step.
 */
export class AdamWRule implements UpdateRule {
  readonly record = "other";
  private steps = 0;
  private readonly phi: AdamWMoments;
  private readonly body: AdamWMoments | null;
  private readonly bodyIndices: Int32Array;

  constructor(model: ProbeModel) {
    this.phi = new AdamWMoments(model.fingerprintSize);
    const bodySize = model.body?.size ?? 0;
    this.body = model.body === null ? null : new AdamWMoments(bodySize);
    this.bodyIndices = Int32Array.from({ length: bodySize }, (_, k) => k);
  }

  get count(): number {
    return this.steps;
  }

  apply(model: ProbeModel, gradient: StepGradient, learningRate: number): number {
    this.steps += 1;
    const factors = adamWFactors(learningRate, this.steps);
    const { indices, values } = gradient.fingerprint;
    let moved = 0;
    model.changeFingerprint((phi) => {
      moved = this.phi.step(phi, indices, values, factors);
    });
    const body = model.body;
    if (body !== null && this.body !== null && gradient.body !== null) {
      const theta = Float32Array.from(body.dataSync());
      this.body.step(theta, this.bodyIndices, gradient.body.dataSync(), factors);
      const updated = tf.tensor1d(theta);
      body.assign(updated);
      updated.dispose();
    }
    return moved;
  }

  touch(indices: readonly number[]): void {
    this.phi.touch(indices);
  }
}
