import * as tf from "@tensorflow/tfjs-core";
import type { GradientBuffer } from "./gradients.js";
import type { LossScaler } from "./loss-scaler.js";
import type { ProbeModel } from "./probe-model.js";
import type { Recorder } from "./recorder.js";

/** A variable as a step last left it: its data and a copy of its values. */
interface Known {
  variable: tf.Variable;
  dataId: object;
  values: tf.Tensor;
}

/**
 * Plain SGD over the probe model's accumulated gradients, with `scaler.step(optimizer);
 * scaler.update()` folded in when a loss scaler is present: the gradient is unscaled, a step
 * whose gradient holds inf/nan is skipped and the scale lowered. Every call is recorded, with
 * what an applied step did to the parameters (θ − θ', read after the update); so is every change
 * of the parameters between steps (a value assigned to a variable by the loop), seen at the next
 * step call or at the run's end ({@link finishRun}).
 */
export class SgdOptimizer {
  /** Step calls so far, applied or skipped. */
  private stepCalls = 0;
  /** The variables the optimizer assigns (the body; phi too when it is held as a variable), as last left. */
  private readonly known: Known[];

  constructor(
    private readonly model: ProbeModel,
    private readonly gradients: GradientBuffer,
    private readonly learningRate: number,
    private readonly scaler: LossScaler | null,
    private readonly recorder: Recorder,
  ) {
    const variables = model.sparseGradients
      ? model.body === null
        ? []
        : [model.body]
      : model.variables;
    this.known = variables.map((variable) => ({
      variable,
      dataId: variable.dataId,
      values: tf.clone(variable),
    }));
    if (model.sparseGradients)
      model.onFingerprintAssigned((before, after) => {
        const indices: number[] = [];
        const changes: number[] = [];
        for (let k = 0; k < after.length; k++) {
          const a = before[k] as number;
          const b = after[k] as number;
          if (a === b || (Number.isNaN(a) && Number.isNaN(b))) continue;
          indices.push(k);
          changes.push(a - b);
        }
        if (indices.length > 0)
          this.recorder.outside({ stepsBefore: this.stepCalls, fingerprint: { indices, changes } });
      });
  }

  /** The loss scale in force, when the loss is scaled. */
  get lossScale(): number | undefined {
    return this.scaler?.scale;
  }

  /** `optimizer.step()`; returns false when the step was skipped for inf/nan. */
  step(): boolean {
    this.checkOutside();
    const applied = this.model.sparseGradients ? this.sparseStep() : this.denseStep();
    this.stepCalls++;
    return applied;
  }

  /** Records what changed the parameters since the last step (or the start), at the run's end. */
  finishRun(): void {
    this.checkOutside();
  }

  /** Frees the copies of the parameters this optimizer keeps. */
  dispose(): void {
    for (const k of this.known) k.values.dispose();
  }

  /** Records a value assigned to a variable since the optimizer last left it, and takes it as known. */
  private checkOutside(): void {
    this.model.takeUpFingerprintAssigned(); // phi held in JS: its listener records an assignment
    for (const k of this.known) {
      if (k.variable.dataId === k.dataId) continue;
      const pair = { before: k.values, after: k.variable };
      const isPhi = this.model.isFingerprint(k.variable);
      this.recorder.outside({
        stepsBefore: this.stepCalls,
        ...(isPhi ? { fingerprintDense: pair } : { body: pair }),
      });
      this.remember(k);
    }
  }

  /** Takes a variable's current value as the one a step left. */
  private remember(k: Known): void {
    k.values.dispose();
    k.values = tf.clone(k.variable);
    k.dataId = k.variable.dataId;
  }

  /** The known copy of a variable (the value before this step). */
  private knownOf(variable: tf.Variable): Known | undefined {
    return this.known.find((k) => k.variable === variable);
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
      const phiBefore = this.model.fingerprintValuesAt(fingerprint.indices);
      this.model.updateFingerprint(fingerprint.indices, fingerprint.values, this.learningRate);
      const phiAfter = this.model.fingerprintValuesAt(fingerprint.indices);
      const known = body === null ? undefined : this.knownOf(body);
      if (body !== null && bodyGradient !== null) {
        const gradient = bodyGradient;
        const updated = tf.tidy(() => tf.sub(body, tf.mul(gradient, this.learningRate)));
        body.assign(updated as tf.Tensor1D);
        updated.dispose();
      }
      this.recorder.applied({
        epoch,
        fingerprint,
        body:
          known === undefined || bodyGradient === null
            ? null
            : { parametersBefore: known.values, gradient: bodyGradient },
        ...(scale === undefined ? {} : { lossScale: scale }),
        update: {
          learningRate: this.learningRate,
          fingerprint: { before: phiBefore, after: phiAfter },
          body: known ? { before: known.values, after: known.variable } : null,
        },
      });
      if (known) this.remember(known);
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
      const variables = this.model.variables;
      variables.forEach((variable, k) => {
        const gradient = applied[k] as tf.Tensor;
        const updated = tf.tidy(() => tf.sub(variable, tf.mul(gradient, this.learningRate)));
        variable.assign(updated);
        updated.dispose();
      });
      const [phi, body] = variables.map((v) => this.knownOf(v)) as [Known, Known | undefined];
      this.recorder.applied({
        epoch,
        fingerprintGradient,
        body:
          body === undefined || bodyGradient === undefined
            ? null
            : { parametersBefore: body.values, gradient: bodyGradient },
        ...(scale === undefined ? {} : { lossScale: scale }),
        update: {
          learningRate: this.learningRate,
          fingerprint: { before: phi.values, after: phi.variable },
          body: body ? { before: body.values, after: body.variable } : null,
        },
      });
      for (const k of [phi, body]) if (k) this.remember(k);
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
