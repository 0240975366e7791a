import * as tf from "@tensorflow/tfjs-core";
import type { ParameterAverage } from "./average.js";
import type { GradientBuffer } from "./gradients.js";
import type { LossScaler } from "./loss-scaler.js";
import { OutsideWatch } from "./outside-watch.js";
import type { ProbeModel } from "./probe-model.js";
import type { Recorder, StepExtras } from "./recorder.js";
import { AdamWRule, SgdRule, type UpdateRule } from "./update-rules.js";

/** Which optimizer a {@link ProbeOptimizer} is: plain SGD, or torch's AdamW (sparse gradients only). */
export interface OptimizerOptions {
  optimizer?: "sgd" | "adamw";
}

/**
 * The optimizer over the probe model's accumulated gradients: plain SGD (the default) or AdamW,
 * with `scaler.step(optimizer); scaler.update()` folded in when a loss scaler is present: the
 * gradient is unscaled (unless {@link unscale} did it already), a step whose gradient holds
 * inf/nan is skipped and the scale lowered. {@link learningRate} is the param group's rate, which
 * a scheduler moves. Every call is recorded, with what an applied step did to the parameters
 * (θ − θ', read after the update), AdamW's step count, and, with an average watched
 * ({@link watchAverage}), the parameters' and the average's projections; so is every change of
 * the parameters between steps (a value assigned to a variable by the loop), seen at the next step
 * call or at the run's end ({@link finishRun}).
 */
export class ProbeOptimizer {
  /** The learning rate the next step uses (`param_groups[0]["lr"]`). */
  learningRate: number;
  /** Step calls so far, applied or skipped. */
  private stepCalls = 0;
  /** Whether {@link unscale} unscaled the gradient since the last step. */
  private unscaled = false;
  private average: ParameterAverage | null = null;
  private readonly rule: UpdateRule;
  private readonly outside: OutsideWatch;

  constructor(
    private readonly model: ProbeModel,
    private readonly gradients: GradientBuffer,
    learningRate: number,
    private readonly scaler: LossScaler | null,
    private readonly recorder: Recorder,
    options: OptimizerOptions = {},
  ) {
    this.learningRate = learningRate;
    if (options.optimizer === "adamw" && !model.sparseGradients)
      throw new TypeError("ProbeOptimizer: AdamW expects sparse gradients (a synchronous backend)");
    this.rule = options.optimizer === "adamw" ? new AdamWRule(model) : new SgdRule();
    this.outside = new OutsideWatch(
      model,
      recorder,
      () => this.stepCalls,
      (indices) => this.rule.touch(indices),
    );
  }

  /** The loss scale in force, when the loss is scaled. */
  get lossScale(): number | undefined {
    return this.scaler?.scale;
  }

  /** The optimizer's own step count (AdamW's `state[p]["step"]`); undefined for SGD. */
  get stepCount(): number | undefined {
    return this.rule.count;
  }

  /** Records this average around every step call (the trace's `average`), as `ctx.watch_average`. */
  watchAverage(average: ParameterAverage | null): void {
    this.average = average;
  }

  /** `scaler.unscale_(optimizer)`: divides the accumulated gradient by the loss scale, once per step. */
  unscale(): void {
    if (this.scaler === null || this.unscaled) return;
    this.gradients.divide(this.scaler.scale);
    this.unscaled = true;
  }

  /** `optimizer.step()`; returns false when the step was skipped for inf/nan. */
  step(): boolean {
    if (this.average) this.recorder.averageValue?.(this.average.projectAverage());
    this.outside.check();
    try {
      return this.model.sparseGradients ? this.sparseStep() : this.denseStep();
    } finally {
      this.unscaled = false;
      this.stepCalls++;
    }
  }

  /** Records what changed the parameters since the last step (or the start), at the run's end. */
  finishRun(): void {
    if (this.average) this.recorder.averageValue?.(this.average.projectAverage());
    this.outside.check();
  }

  /** Frees the copies of the parameters this optimizer keeps. */
  dispose(): void {
    this.outside.dispose();
  }

  /** `optimizer.zero_grad()`. */
  zeroGrad(): void {
    this.gradients.zero();
  }

  /** The call's extras: the step count after it, and the parameters' projections around it. */
  private extras(before: number[] | undefined): StepExtras {
    const count = this.rule.count;
    return {
      ...(count === undefined ? {} : { optimizerSteps: count }),
      ...(before === undefined || this.average === null
        ? {}
        : { average: { before, after: this.average.projectParameters() } }),
    };
  }

  /** A skipped step: recorded, and the scale lowered. */
  private skip(epoch: number, scale: number | undefined, before: number[] | undefined): false {
    this.recorder.skipped(epoch, scale, this.extras(before));
    this.scaler?.update(true);
    return false;
  }

  /**
   * The step with phi's gradient sparse: unscaling, the finite check and the update run over the
   * touched entries only (plus, under AdamW, the entries its moments still move), in float32 as
   * the tensor operations do.
   */
  private sparseStep(): boolean {
    const epoch = this.model.epoch;
    const scale = this.scaler?.scale;
    const before = this.average?.projectParameters();
    const fingerprint = this.gradients.readFingerprint();
    const body = this.model.body;
    let bodyGradient = body === null ? null : this.gradients.read(body);
    try {
      if (scale !== undefined && !this.unscaled) {
        const s = Math.fround(scale);
        const { values } = fingerprint;
        for (let k = 0; k < values.length; k++) values[k] = (values[k] as number) / s;
        if (bodyGradient !== null) {
          const gradient = bodyGradient;
          bodyGradient = tf.tidy(() => tf.div(gradient, scale));
          gradient.dispose();
        }
      }
      const finite =
        fingerprint.values.every(Number.isFinite) && allFinite(bodyGradient ? [bodyGradient] : []);
      if (this.scaler !== null && !finite) return this.skip(epoch, scale, before);
      const learningRate = this.learningRate;
      const phiBefore = this.model.fingerprintValuesAt(fingerprint.indices);
      const known = body === null ? undefined : this.outside.knownOf(body);
      const moved = this.rule.apply(this.model, { fingerprint, body: bodyGradient }, learningRate);
      this.model.noteAppliedStep();
      const phiAfter = this.model.fingerprintValuesAt(fingerprint.indices);
      this.recorder.applied({
        epoch,
        fingerprint,
        body:
          known === undefined || bodyGradient === null
            ? null
            : { parametersBefore: known.values, gradient: bodyGradient },
        ...(scale === undefined ? {} : { lossScale: scale }),
        update: {
          rule: this.rule.record,
          movedWithoutGradient: moved,
          learningRate,
          fingerprint: { before: phiBefore, after: phiAfter },
          body: known ? { before: known.values, after: known.variable } : null,
        },
        ...this.extras(before),
      });
      if (known) this.outside.remember(known);
      this.scaler?.update(false);
      return true;
    } finally {
      bodyGradient?.dispose();
    }
  }

  /** The step with phi's gradient dense (backends without synchronous reads): plain SGD. */
  private denseStep(): boolean {
    const epoch = this.model.epoch;
    const scale = this.scaler?.scale;
    const applied = this.model.variables.map((variable) => {
      const gradient = this.gradients.read(variable);
      if (scale === undefined || this.unscaled) return gradient;
      const unscaled = tf.tidy(() => tf.div(gradient, scale));
      gradient.dispose();
      return unscaled;
    });
    try {
      if (this.scaler !== null && !allFinite(applied)) return this.skip(epoch, scale, undefined);
      const [fingerprintGradient, bodyGradient] = applied as [tf.Tensor, tf.Tensor | undefined];
      const learningRate = this.learningRate;
      const variables = this.model.variables;
      variables.forEach((variable, k) => {
        const gradient = applied[k] as tf.Tensor;
        const updated = tf.tidy(() => tf.sub(variable, tf.mul(gradient, learningRate)));
        variable.assign(updated);
        updated.dispose();
      });
      this.model.noteAppliedStep();
      const [phi, body] = variables.map((v) => this.outside.knownOf(v));
      if (phi === undefined) throw new Error("denseStep: phi's known copy is missing");
      this.recorder.applied({
        epoch,
        fingerprintGradient,
        body:
          body === undefined || bodyGradient === undefined
            ? null
            : { parametersBefore: body.values, gradient: bodyGradient },
        ...(scale === undefined ? {} : { lossScale: scale }),
        update: {
          learningRate,
          fingerprint: { before: phi.values, after: phi.variable },
          body: body ? { before: body.values, after: body.variable } : null,
        },
      });
      for (const k of [phi, body]) if (k) this.outside.remember(k);
      this.scaler?.update(false);
      return true;
    } finally {
      for (const tensor of applied) tensor.dispose();
    }
  }
}

/** The optimizer's former name, from when it was plain SGD only. */
export { ProbeOptimizer as SgdOptimizer };

function allFinite(tensors: tf.Tensor[]): boolean {
  return tensors.every((tensor) => tf.tidy(() => tf.all(tf.isFinite(tensor)).dataSync()[0] === 1));
}
