import * as tf from "@tensorflow/tfjs-core";
import type { ProbeModel } from "./probe-model.js";
import type { Recorder } from "./recorder.js";

/** A variable as a step last left it: its data and a copy of its values. */
export interface Known {
  variable: tf.Variable;
  dataId: object;
  values: tf.Tensor;
}

/**
 * What the optimizer knows of the parameters between its steps, to record every change no step
 * made (a value a loop assigned to a variable) as a change outside the steps: a copy of each
 * variable it assigns (the body; phi too when held as a variable) as it last left it, and, for a
 * phi held in JS, the model's report of a value assigned to phi's variable. `onFingerprintAssigned`
 * also hears of the phi entries such a change touched.
 */
export class OutsideWatch {
  private readonly known: Known[];

  constructor(
    private readonly model: ProbeModel,
    private readonly recorder: Recorder,
    private readonly stepCalls: () => number,
    onFingerprintAssigned: (indices: readonly number[]) => void = () => {},
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
        if (indices.length === 0) return;
        onFingerprintAssigned(indices);
        this.recorder.outside({ stepsBefore: this.stepCalls(), fingerprint: { indices, changes } });
      });
  }

  /** Records a value assigned to a variable since a step last left it, and takes it as known. */
  check(): void {
    this.model.takeUpFingerprintAssigned(); // phi held in JS: its listener records an assignment
    for (const k of this.known) {
      if (k.variable.dataId === k.dataId) continue;
      const pair = { before: k.values, after: k.variable };
      const isPhi = this.model.isFingerprint(k.variable);
      this.recorder.outside({
        stepsBefore: this.stepCalls(),
        ...(isPhi ? { fingerprintDense: pair } : { body: pair }),
      });
      this.remember(k);
    }
  }

  /** The known copy of a variable (its value before the step under way). */
  knownOf(variable: tf.Variable): Known | undefined {
    return this.known.find((k) => k.variable === variable);
  }

  /** Takes a variable's current value as the one a step left. */
  remember(k: Known): void {
    k.values.dispose();
    k.values = tf.clone(k.variable);
    k.dataId = k.variable.dataId;
  }

  /** Frees the copies. */
  dispose(): void {
    for (const k of this.known) k.values.dispose();
  }
}
