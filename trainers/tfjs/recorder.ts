import type { Tensor } from "@tensorflow/tfjs-core";
import { FINGERPRINT_COEFFICIENT } from "../contract/probe.js";
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
import {
  type BeforeAfter,
  clonePair,
  difference,
  disposePair,
  isTensor,
  nonzeroChanges,
  type OutsideChangeSeen,
  outsideEntry,
  readDifference,
  sgdUpdate,
  valuesOf,
} from "./update-record.js";

export type { BeforeAfter, OutsideChangeSeen } from "./update-record.js";

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
  /**
   * What the step did to the parameters (the trace's `update`, rule "sgd"), as their values before
   * and after it: phi's at the sparse gradient's entries (aligned with its values), or dense; the
   * body's (null for the fingerprint model). The recorder takes θ − θ' in float64.
   */
  update?: {
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
  skipped(epoch: number, lossScale?: number): void;
  /** Parameters changed outside any step (tensors stay owned by the caller). */
  outside(change: OutsideChangeSeen): void;
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
  changes: ArrayLike<number> | null = null,
): { fingerprint: Step["fingerprint"]; changes: number[] } {
  const epochs: number[] = [];
  const samples: number[] = [];
  const weights: number[] = [];
  const kept: number[] = [];
  for (let k = 0; k < values.length; k++) {
    const g = values[k] ?? 0;
    if (g === 0) continue;
    const index = indices === null ? k : (indices[k] as number);
    epochs.push(Math.floor(index / datasetSize));
    samples.push(index % datasetSize);
    weights.push(g / FINGERPRINT_COEFFICIENT);
    if (changes !== null) kept.push(changes[k] ?? Number.NaN);
  }
  return { fingerprint: { epochs, samples, weights }, changes: kept };
}

/** An applied step whose tensors are read when the run finishes, with their copies. */
interface DeferredStep {
  index: number;
  /** null when the step's fingerprint gradient came sparse and was recorded at once. */
  fingerprintGradient: Tensor | null;
  body: { parametersBefore: Tensor; gradient: Tensor } | null;
  /** The update's dense tensors (phi's null when it came sparse and was recorded at once). */
  update: { fingerprint: BeforeAfter<Tensor> | null; body: BeforeAfter<Tensor> | null } | null;
}

/** A change outside the steps whose tensors are read when the run finishes. */
interface DeferredOutside {
  index: number;
  fingerprintDense: BeforeAfter<Tensor> | null;
  body: BeforeAfter<Tensor> | null;
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
  private readonly outsideSteps: OutsideChange[] = [];
  private readonly deferredOutside: DeferredOutside[] = [];

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
          : { update: sgdUpdate(update.learningRate, sparse?.changes ?? [], null) }),
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
            update: sgdUpdate(
              update.learningRate,
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
      this.deferredOutside.push({
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

  private async readDeferred(): Promise<void> {
    try {
      for (const pending of this.deferred) {
        const step = this.steps[pending.index] as Step;
        if (pending.fingerprintGradient !== null) {
          const fingerprint = await pending.fingerprintGradient.data();
          const change = pending.update?.fingerprint
            ? await readDifference(pending.update.fingerprint)
            : null;
          const read = fingerprintEntries(null, fingerprint, this.datasetSize, change);
          step.fingerprint = read.fingerprint;
          if (step.update) step.update.fingerprint = read.changes;
        }
        if (pending.body !== null)
          step.body = {
            parametersBefore: Array.from(await pending.body.parametersBefore.data()),
            gradient: Array.from(await pending.body.gradient.data()),
          };
        if (step.update && pending.update?.body)
          step.update.body = Array.from(await readDifference(pending.update.body));
      }
      for (const pending of this.deferredOutside) {
        const entry = this.outsideSteps[pending.index] as OutsideChange;
        const dense = pending.fingerprintDense
          ? nonzeroChanges(await readDifference(pending.fingerprintDense))
          : null;
        const body = pending.body ? await readDifference(pending.body) : null;
        const read = outsideEntry(
          entry.stepsBefore,
          dense ?? {
            indices: entry.fingerprint.samples.map(
              (sample, k) => (entry.fingerprint.epochs[k] ?? 0) * this.datasetSize + sample,
            ),
            changes: entry.fingerprint.changes,
          },
          body,
          this.datasetSize,
        );
        this.outsideSteps[pending.index] = read;
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
      disposePair(pending.update?.fingerprint);
      disposePair(pending.update?.body);
    }
    for (const pending of this.deferredOutside.splice(0)) {
      disposePair(pending.fingerprintDense);
      disposePair(pending.body);
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
  outside(): void {}
  async finish(trainer: TrainerInfo, scenario: Scenario): Promise<Trace> {
    return { format: "accumaudit-trace", version: TRACE_VERSION, trainer, scenario, steps: [] };
  }
}
