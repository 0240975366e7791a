import type { Tensor } from "@tensorflow/tfjs-core";
import { FINGERPRINT_COEFFICIENT } from "../contract/probe.js";
import type { Scenario } from "../contract/scenario.js";
import {
  type MicroBatch,
  parseTrace,
  type Step,
  TRACE_VERSION,
  type Trace,
  type TrainerInfo,
} from "../contract/trace.js";

/**
 * What the optimizer hands the recorder at an applied step (tensors and arrays stay owned by the
 * caller). The fingerprint gradient comes sparse ({@link fingerprint}) or dense
 * ({@link fingerprintGradient}); the sparse one is used when both are given.
 */
export interface AppliedStep {
  epoch: number;
  /** Applied (unscaled) gradient of the flat fingerprint parameters, dense: length epochs x N. */
  fingerprintGradient?: Tensor;
  /**
   * Applied (unscaled) gradient of the flat fingerprint parameters, sparse: ascending flat
   * indices and their values; every other entry is 0.
   */
  fingerprint?: { indices: ArrayLike<number>; values: ArrayLike<number> };
  /** Body parameters before the update and the applied gradient; null for the fingerprint model. */
  body: { parametersBefore: Tensor; gradient: Tensor } | null;
  lossScale?: number;
}

/** Observes a run: every micro-batch forward pass and every optimizer step call. */
export interface Recorder {
  /** A micro-batch went through the probe model carrying this epoch tag. */
  forward(epoch: number, samples: readonly number[]): void;
  /** The optimizer applied a step. */
  applied(step: AppliedStep): void;
  /** The optimizer skipped a step (inf/nan after loss scaling). */
  skipped(epoch: number, lossScale?: number): void;
  /** The trace of the run, validated with parseTrace. */
  finish(trainer: TrainerInfo, scenario: Scenario): Promise<Trace>;
}

/**
 * The trace's entries of a fingerprint gradient: its nonzero values, in order, at `indices`
 * (ascending) for a sparse gradient, or at their own positions for a dense one (`indices` null).
 */
function fingerprintEntries(
  indices: ArrayLike<number> | null,
  values: ArrayLike<number>,
  datasetSize: number,
): Step["fingerprint"] {
  const epochs: number[] = [];
  const samples: number[] = [];
  const weights: number[] = [];
  for (let k = 0; k < values.length; k++) {
    const g = values[k] ?? 0;
    if (g === 0) continue;
    const index = indices === null ? k : (indices[k] as number);
    epochs.push(Math.floor(index / datasetSize));
    samples.push(index % datasetSize);
    weights.push(g / FINGERPRINT_COEFFICIENT);
  }
  return { epochs, samples, weights };
}

/** An applied step whose tensors are read when the run finishes, with their copies. */
interface DeferredStep {
  index: number;
  /** null when the step's fingerprint gradient came sparse and was recorded at once. */
  fingerprintGradient: Tensor | null;
  body: { parametersBefore: Tensor; gradient: Tensor } | null;
}

/**
 * Records a run into an `accumaudit-trace` v1: each applied step's gradient read off the
 * tensors the optimizer applied (fingerprint part sparse), each skipped step, each forward pass.
 * With `readsSynchronously` false (backends such as webgpu that cannot read a tensor
 * synchronously) each applied step keeps copies of its tensors, read asynchronously by
 * {@link finish}; that holds every step's gradient in the backend's memory until then.
 */
export class TraceRecorder implements Recorder {
  private readonly steps: Step[] = [];
  private readonly microBatches: MicroBatch[] = [];
  private readonly deferred: DeferredStep[] = [];

  constructor(
    private readonly datasetSize: number,
    private readonly readsSynchronously = true,
  ) {}

  forward(epoch: number, samples: readonly number[]): void {
    this.microBatches.push({
      epoch,
      samples: [...samples],
      stepsBefore: this.steps.length,
      rank: 0,
    });
  }

  applied(step: AppliedStep): void {
    const base = {
      epoch: step.epoch,
      skipped: false,
      ...(step.lossScale === undefined ? {} : { lossScale: step.lossScale }),
    };
    const sparse =
      step.fingerprint === undefined
        ? null
        : fingerprintEntries(step.fingerprint.indices, step.fingerprint.values, this.datasetSize);
    if (sparse === null && step.fingerprintGradient === undefined)
      throw new TypeError("applied: expected a fingerprint gradient (sparse or dense), saw none");
    if (!this.readsSynchronously) {
      this.deferred.push({
        index: this.steps.length,
        fingerprintGradient: sparse === null ? (step.fingerprintGradient?.clone() ?? null) : null,
        body:
          step.body === null
            ? null
            : {
                parametersBefore: step.body.parametersBefore.clone(),
                gradient: step.body.gradient.clone(),
              },
      });
      this.steps.push({
        ...base,
        fingerprint: sparse ?? { epochs: [], samples: [], weights: [] },
        body: null,
      });
      return;
    }
    this.steps.push({
      ...base,
      fingerprint:
        sparse ??
        fingerprintEntries(null, (step.fingerprintGradient as Tensor).dataSync(), this.datasetSize),
      body:
        step.body === null
          ? null
          : {
              parametersBefore: Array.from(step.body.parametersBefore.dataSync()),
              gradient: Array.from(step.body.gradient.dataSync()),
            },
    });
  }

  skipped(epoch: number, lossScale?: number): void {
    this.steps.push({
      epoch,
      skipped: true,
      fingerprint: { epochs: [], samples: [], weights: [] },
      body: null,
      ...(lossScale === undefined ? {} : { lossScale }),
    });
  }

  async finish(trainer: TrainerInfo, scenario: Scenario): Promise<Trace> {
    await this.readDeferred();
    return parseTrace({
      format: "accumaudit-trace",
      version: TRACE_VERSION,
      trainer,
      scenario,
      // Copies of the lists: a forward pass after the run must not change the trace returned.
      steps: [...this.steps],
      microBatches: [...this.microBatches],
    });
  }

  private async readDeferred(): Promise<void> {
    try {
      for (const pending of this.deferred) {
        const step = this.steps[pending.index] as Step;
        if (pending.fingerprintGradient !== null) {
          const fingerprint = await pending.fingerprintGradient.data();
          step.fingerprint = fingerprintEntries(
            null,
            fingerprint as Float32Array,
            this.datasetSize,
          );
        }
        if (pending.body !== null)
          step.body = {
            parametersBefore: Array.from(await pending.body.parametersBefore.data()),
            gradient: Array.from(await pending.body.gradient.data()),
          };
      }
    } finally {
      this.dispose();
    }
  }

  /** Frees the copies of steps not read yet (a run that failed before finish). */
  dispose(): void {
    for (const pending of this.deferred.splice(0)) {
      pending.fingerprintGradient?.dispose();
      pending.body?.parametersBefore.dispose();
      pending.body?.gradient.dispose();
    }
  }
}

/**
 * Records nothing and reads no tensor, so a run with it costs only the training itself
 * (`options.record === false`). Its trace has no steps and no micro-batches.
 */
export class NoopRecorder implements Recorder {
  forward(): void {}
  applied(): void {}
  skipped(): void {}
  async finish(trainer: TrainerInfo, scenario: Scenario): Promise<Trace> {
    return { format: "accumaudit-trace", version: TRACE_VERSION, trainer, scenario, steps: [] };
  }
}
