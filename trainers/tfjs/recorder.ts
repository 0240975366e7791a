import type { Tensor } from "@tensorflow/tfjs-core";
import type { Scenario } from "../contract/scenario.js";
import {
  type MicroBatch,
  type OutsideChange,
  parseTrace,
  type Step,
  TRACE_VERSION,
  type Trace,
  type TrainerInfo,
} from "../contract/trace.js";
import { DeferredReads } from "./deferred-reads.js";
import {
  type BeforeAfter,
  clonePair,
  difference,
  fingerprintEntries,
  isTensor,
  nonzeroChanges,
  type OutsideChangeSeen,
  outsideEntry,
  type StepExtras,
  stepExtras,
  stepUpdate,
  valuesOf,
} from "./update-record.js";

export type { BeforeAfter, OutsideChangeSeen, StepExtras } from "./update-record.js";

/**
 * What the optimizer hands the recorder at an applied step (tensors and arrays stay owned by the
 * caller). The fingerprint gradient comes sparse ({@link fingerprint}) or dense
 * ({@link fingerprintGradient}); the sparse one is used when both are given.
 */
export interface AppliedStep extends StepExtras {
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
  /**
   * What the step did to the parameters (the trace's `update`), as their values before and after
   * it: phi's at the sparse gradient's entries (aligned with its values), or dense; the body's
   * (null for the fingerprint model). The recorder takes θ − θ' in float64. `rule` is "sgd" (the
   * default) for plain SGD, "other" for AdamW, which also says how many phi entries without a
   * gradient it moved.
   */
  update?: {
    rule?: "sgd" | "other";
    movedWithoutGradient?: number;
    learningRate: number;
    fingerprint: BeforeAfter<ArrayLike<number>> | BeforeAfter<Tensor>;
    body: BeforeAfter<Tensor> | null;
  };
}

/** Observes a run: every micro-batch forward pass and every optimizer step call. */
export interface Recorder {
  /** A micro-batch went through the probe model carrying this epoch tag. */
  forward(epoch: number, samples: readonly number[]): void;
  /** The optimizer applied a step. */
  applied(step: AppliedStep): void;
  /** The optimizer skipped a step (inf/nan after loss scaling). */
  skipped(epoch: number, lossScale?: number, extras?: StepExtras): void;
  /**
   * The watched average of the parameters as it stands now, as projections: the `value` of the
   * last step call (told at the start of each step call and at the run's end).
   */
  averageValue?(value: number[]): void;
  /** Parameters changed outside any step (tensors stay owned by the caller). */
  outside(change: OutsideChangeSeen): void;
  /** The trace of the run, validated with parseTrace. */
  finish(trainer: TrainerInfo, scenario: Scenario): Promise<Trace>;
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
  private readonly outsideSteps: OutsideChange[] = [];
  /** What backends without synchronous reads leave to read at the end. */
  private readonly deferred: DeferredReads;
  /** The last step call's `average`, waiting for its value. */
  private awaitingAverage: { value: number[] } | null = null;

  constructor(
    private readonly datasetSize: number,
    private readonly readsSynchronously = true,
  ) {
    this.deferred = new DeferredReads(datasetSize);
  }

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
      ...this.extras(step),
    };
    const update = step.update;
    const pair = update?.fingerprint;
    const sparseChange =
      pair === undefined || isTensor(pair.before)
        ? null
        : difference(pair.before, pair.after as ArrayLike<number>);
    const sparse =
      step.fingerprint === undefined
        ? null
        : fingerprintEntries(
            step.fingerprint.indices,
            step.fingerprint.values,
            this.datasetSize,
            sparseChange,
          );
    if (sparse === null && step.fingerprintGradient === undefined)
      throw new TypeError("applied: expected a fingerprint gradient (sparse or dense), saw none");
    if (!this.readsSynchronously) {
      const densePair =
        pair !== undefined && isTensor(pair.before) && sparse === null
          ? clonePair(pair as BeforeAfter<Tensor>)
          : null;
      this.deferred.steps.push({
        index: this.steps.length,
        fingerprintGradient: sparse === null ? (step.fingerprintGradient?.clone() ?? null) : null,
        body:
          step.body === null
            ? null
            : {
                parametersBefore: step.body.parametersBefore.clone(),
                gradient: step.body.gradient.clone(),
              },
        update:
          update === undefined
            ? null
            : { fingerprint: densePair, body: update.body ? clonePair(update.body) : null },
      });
      this.steps.push({
        ...base,
        fingerprint: sparse?.fingerprint ?? { epochs: [], samples: [], weights: [] },
        body: null,
        ...(update === undefined
          ? {}
          : { update: stepUpdate(update, sparse?.changes ?? [], null) }),
      });
      return;
    }
    const read =
      sparse ??
      fingerprintEntries(
        null,
        (step.fingerprintGradient as Tensor).dataSync(),
        this.datasetSize,
        pair === undefined ? null : difference(valuesOf(pair.before), valuesOf(pair.after)),
      );
    this.steps.push({
      ...base,
      fingerprint: read.fingerprint,
      body:
        step.body === null
          ? null
          : {
              parametersBefore: Array.from(step.body.parametersBefore.dataSync()),
              gradient: Array.from(step.body.gradient.dataSync()),
            },
      ...(update === undefined
        ? {}
        : {
            update: stepUpdate(
              update,
              read.changes,
              update.body &&
                difference(update.body.before.dataSync(), update.body.after.dataSync()),
            ),
          }),
    });
  }

  outside(change: OutsideChangeSeen): void {
    const sparse = change.fingerprint ?? { indices: [], changes: [] };
    if (!this.readsSynchronously) {
      this.deferred.outside.push({
        index: this.outsideSteps.length,
        fingerprintDense: change.fingerprintDense ? clonePair(change.fingerprintDense) : null,
        body: change.body ? clonePair(change.body) : null,
      });
      this.outsideSteps.push(outsideEntry(change.stepsBefore, sparse, null, this.datasetSize));
      return;
    }
    const pairDifference = (p: BeforeAfter<Tensor>) =>
      difference(p.before.dataSync(), p.after.dataSync());
    const dense = change.fingerprintDense
      ? nonzeroChanges(pairDifference(change.fingerprintDense))
      : null;
    const entry = outsideEntry(
      change.stepsBefore,
      dense ?? sparse,
      change.body ? pairDifference(change.body) : null,
      this.datasetSize,
    );
    if (entry.fingerprint.changes.length > 0 || entry.body !== null) this.outsideSteps.push(entry);
  }

  skipped(epoch: number, lossScale?: number, extras: StepExtras = {}): void {
    this.steps.push({
      epoch,
      skipped: true,
      fingerprint: { epochs: [], samples: [], weights: [] },
      body: null,
      ...(lossScale === undefined ? {} : { lossScale }),
      ...this.extras(extras),
    });
  }

  averageValue(value: number[]): void {
    if (this.awaitingAverage) this.awaitingAverage.value = [...value];
    this.awaitingAverage = null;
  }

  /** A step call's extras as the trace holds them; its average waits for {@link averageValue}. */
  private extras(extras: StepExtras): ReturnType<typeof stepExtras> {
    const entry = stepExtras(extras);
    this.awaitingAverage = entry.average ?? null;
    return entry;
  }

  async finish(trainer: TrainerInfo, scenario: Scenario): Promise<Trace> {
    if (this.awaitingAverage)
      throw new TypeError("finish: the last step call's average has no value (averageValue)");
    await this.deferred.readInto(this.steps, this.outsideSteps);
    const outside = this.outsideSteps.filter((c) => c.fingerprint.changes.length > 0 || c.body);
    return parseTrace({
      format: "accumaudit-trace",
      version: TRACE_VERSION,
      trainer,
      scenario,
      // Copies of the lists: a forward pass after the run must not change the trace returned.
      steps: [...this.steps],
      microBatches: [...this.microBatches],
      ...(outside.length > 0 ? { outsideSteps: outside } : {}),
    });
  }

  /** Frees the copies of steps not read yet (a run that failed before finish). */
  dispose(): void {
    this.deferred.dispose();
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
  outside(): void {}
  async finish(trainer: TrainerInfo, scenario: Scenario): Promise<Trace> {
    return { format: "accumaudit-trace", version: TRACE_VERSION, trainer, scenario, steps: [] };
  }
}
