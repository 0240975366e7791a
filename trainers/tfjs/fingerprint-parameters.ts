import * as tf from "@tensorflow/tfjs-core";

/**
 * Receives the fingerprint part of a backward pass, sparsely: the flat indices phi was read at
 * by one lookup (one ProbeModel.perSampleLosses or ProbeModel.lossTerms call) and the gradient
 * flowing to each read value, in the order of the lookup. An index repeats when a lookup reads
 * it several times (once per loss token under token weighting); its gradient is the sum of its
 * entries.
 */
export type FingerprintGradientSink = (indices: readonly number[], gradient: Float32Array) => void;

/**
 * Told when a value assigned to phi's variable from outside (not by an update) is taken up (sparse
 * only): phi's values before it and after, each epochs x N long.
 */
export type FingerprintAssignedListener = (before: Float32Array, after: Float32Array) => void;

/**
 * The fingerprint parameters phi (flat, initialised 0): how they are held and differentiated.
 *
 * Sparse (backends that read tensors synchronously): phi's values live in a JS float32 array;
 * {@link variable} is a tf.Variable kept in step with it when read, and a value assigned to that
 * variable is taken up by the next lookup or update. A lookup reaches phi through a scalar anchor
 * variable, so that `tf.variableGrads` over {@link gradientVariable} leaves phi's gradient to the
 * sink. Dense: phi is the variable, differentiated like any other.
 */
export class FingerprintParameters {
  private readonly phiVariable: tf.Variable<tf.Rank.R1>;
  /** phi on the JS side (sparse only); the truth unless the variable was assigned since. */
  private readonly phi: Float32Array | null;
  /** The variable's data when it last matched {@link phi}; a different one means it was assigned. */
  private syncedData: object;
  /** Whether the variable holds phi's current values. */
  private variableCurrent = true;
  /** Scalar the sparse lookup hangs its gradient on (value 0, gradient 0). */
  private readonly anchor: tf.Variable<tf.Rank.R0> | null;
  private sink: FingerprintGradientSink | null = null;
  private assigned: FingerprintAssignedListener | null = null;

  constructor(
    size: number,
    readonly sparse: boolean,
  ) {
    const zeros = tf.zeros([size]);
    this.phiVariable = tf.variable(zeros, true) as tf.Variable<tf.Rank.R1>;
    zeros.dispose();
    this.syncedData = this.phiVariable.dataId;
    if (sparse) {
      this.phi = new Float32Array(size);
      const zero = tf.scalar(0);
      this.anchor = tf.variable(zero, true) as tf.Variable<tf.Rank.R0>;
      zero.dispose();
    } else {
      this.phi = null;
      this.anchor = null;
    }
  }

  /** phi as a variable, brought up to date when sparse (one copy of phi after updates). */
  get variable(): tf.Variable<tf.Rank.R1> {
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
  isVariable(variable: tf.Variable): boolean {
    return variable === this.phiVariable;
  }

  /** The variable to take `tf.variableGrads` over in phi's place: the anchor when sparse. */
  get gradientVariable(): tf.Variable {
    return this.anchor ?? this.variable;
  }

  /** Sets where sparse gradients go during a backward pass (null: dropped); returns the previous sink. */
  setSink(sink: FingerprintGradientSink | null): FingerprintGradientSink | null {
    const previous = this.sink;
    this.sink = sink;
    return previous;
  }

  /**
   * phi[index] -= fp32(gradient x learningRate) at the given flat indices, in float32 (as
   * `phi - gradient * lr` on tensors); the other entries stay. Sparse only.
   */
  update(indices: ArrayLike<number>, gradient: ArrayLike<number>, learningRate: number): void {
    const phi = this.currentPhi();
    if (phi === null) throw new Error("updateFingerprint: expected sparse gradients, saw dense");
    const lr = Math.fround(learningRate);
    for (let k = 0; k < indices.length; k++) {
      const index = indices[k] as number;
      phi[index] = Math.fround((phi[index] as number) - Math.fround((gradient[k] as number) * lr));
    }
    if (indices.length > 0) this.variableCurrent = false;
  }

  /** Sets who is told when a value assigned to the variable is taken up (sparse only; null: nobody). */
  onAssigned(listener: FingerprintAssignedListener | null): void {
    this.assigned = listener;
  }

  /** Takes up a value assigned to the variable since phi was last read (sparse; dense: nothing to do). */
  takeUpAssigned(): void {
    this.currentPhi();
  }

  /** All of phi: the JS-side array when sparse (do not keep it across updates), a copy when dense. */
  values(): Float32Array {
    return this.currentPhi() ?? Float32Array.from(this.phiVariable.dataSync());
  }

  /** Changes the JS-side phi in place (sparse only). */
  change(change: (phi: Float32Array) => void): void {
    const phi = this.currentPhi();
    if (phi === null) throw new Error("changeFingerprint: expected sparse gradients, saw dense");
    change(phi);
    this.variableCurrent = false;
  }

  /** phi's values at the given flat indices, in float32 (sparse only). */
  valuesAt(indices: ArrayLike<number>): Float32Array {
    const phi = this.currentPhi();
    if (phi === null) throw new Error("fingerprintValuesAt: expected sparse gradients, saw dense");
    const values = new Float32Array(indices.length);
    for (let k = 0; k < indices.length; k++) values[k] = phi[indices[k] as number] as number;
    return values;
  }

  /** phi[indices] (an index may repeat), differentiable: sparse to the sink, or dense. */
  lookup(indices: readonly number[]): tf.Tensor1D {
    return this.phi === null ? this.lookupDense(indices) : this.lookupSparse(indices);
  }

  /** Frees phi's tensors. */
  dispose(): void {
    this.phiVariable.dispose();
    this.anchor?.dispose();
  }

  /** The JS-side phi, first taking up a value assigned to the variable; null when dense. */
  private currentPhi(): Float32Array | null {
    const phi = this.phi;
    if (phi === null) return null;
    if (this.phiVariable.dataId !== this.syncedData) {
      const before = this.assigned ? phi.slice() : null;
      phi.set(this.phiVariable.dataSync());
      this.syncedData = this.phiVariable.dataId;
      this.variableCurrent = true;
      if (before) this.assigned?.(before, phi);
    }
    return phi;
  }

  /**
   * phi[indices] as a tensor built from the JS-side phi, hung on the anchor: its gradient (the
   * gradient of each read value) goes to the sink, the anchor's is 0.
   */
  private lookupSparse(indices: readonly number[]): tf.Tensor1D {
    const phi = this.currentPhi() as Float32Array;
    const values = new Float32Array(indices.length);
    for (let k = 0; k < indices.length; k++) values[k] = phi[indices[k] as number] as number;
    const lookup = tf.customGrad((...inputs: Array<tf.Tensor | tf.GradSaveFunc>) => {
      const anchor = inputs[0] as tf.Tensor;
      return {
        value: tf.tensor1d(values),
        gradFunc: (dy: tf.Tensor) => {
          this.sink?.(indices, new Float32Array(dy.dataSync()));
          return tf.zerosLike(anchor);
        },
      };
    });
    return lookup(this.anchor as tf.Variable) as tf.Tensor1D;
  }

  /**
   * phi[indices] off the variable, with its gradient written as a scatter (ScatterNd) rather
   * than gather's default UnsortedSegmentSum, which the wasm backend lacks; ScatterNd sums the
   * gradients of a repeated index.
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
}
