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

/** What the optimizer hands the recorder at an applied step (tensors stay owned by the caller). */
export interface AppliedStep {
  epoch: number;
  /** Applied (unscaled) gradient of the flat fingerprint parameters, length epochs x N. */
  fingerprintGradient: Tensor;
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
  finish(trainer: TrainerInfo, scenario: Scenario): Trace;
}

function sparseFingerprint(gradient: Tensor, datasetSize: number): Step["fingerprint"] {
  const values = gradient.dataSync();
  const epochs: number[] = [];
  const samples: number[] = [];
  const weights: number[] = [];
  for (let index = 0; index < values.length; index++) {
    const g = values[index] ?? 0;
    if (g === 0) continue;
    epochs.push(Math.floor(index / datasetSize));
    samples.push(index % datasetSize);
    weights.push(g / FINGERPRINT_COEFFICIENT);
  }
  return { epochs, samples, weights };
}

function numbers(tensor: Tensor): number[] {
  return Array.from(tensor.dataSync());
}

/**
 * Records a run into an `accumaudit-trace` v1: each applied step's gradient read off the
 * tensors the optimizer applied (fingerprint part sparse), each skipped step, each forward pass.
 */
export class TraceRecorder implements Recorder {
  private readonly steps: Step[] = [];
  private readonly microBatches: MicroBatch[] = [];

  constructor(private readonly datasetSize: number) {}

  forward(epoch: number, samples: readonly number[]): void {
    this.microBatches.push({
      epoch,
      samples: [...samples],
      stepsBefore: this.steps.length,
      rank: 0,
    });
  }

  applied(step: AppliedStep): void {
    this.steps.push({
      epoch: step.epoch,
      skipped: false,
      fingerprint: sparseFingerprint(step.fingerprintGradient, this.datasetSize),
      body:
        step.body === null
          ? null
          : {
              parametersBefore: numbers(step.body.parametersBefore),
              gradient: numbers(step.body.gradient),
            },
      ...(step.lossScale === undefined ? {} : { lossScale: step.lossScale }),
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

  finish(trainer: TrainerInfo, scenario: Scenario): Trace {
    return parseTrace({
      format: "accumaudit-trace",
      version: TRACE_VERSION,
      trainer,
      scenario,
      steps: this.steps,
      microBatches: this.microBatches,
    });
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
  finish(trainer: TrainerInfo, scenario: Scenario): Trace {
    return { format: "accumaudit-trace", version: TRACE_VERSION, trainer, scenario, steps: [] };
  }
}
