import { fileURLToPath } from "node:url";
import * as tf from "@tensorflow/tfjs-core";
import type { Dataset } from "../contract/probe.js";
import type { Scenario } from "../contract/scenario.js";
import type { Trace } from "../contract/trace.js";
import { type RunOptions, TrainerError } from "../contract/trainer.js";
import { ParameterAverage } from "./average.js";
import { selectBackend } from "./backend.js";
import { GradientBuffer } from "./gradients.js";
import { createLoader, type MicroBatchLoader } from "./loader.js";
import { LossScaler } from "./loss-scaler.js";
import { ProbeOptimizer } from "./optimizer.js";
import { ProbeModel } from "./probe-model.js";
import { ProgressRecorder } from "./progress-recorder.js";
import { NoopRecorder, type Recorder, TraceRecorder } from "./recorder.js";
import { LearningRateScheduler, trainingSteps } from "./schedule.js";

/**
 * What a training loop works with, as in a PyTorch script: the model, the loader, the
 * gradients (`loss.backward()` accumulates into them), the optimizer (SGD or AdamW, as the
 * scenario says), its learning-rate scheduler and the parameters' average. The recorder behind
 * them writes the trace. `loader.epoch(e)` also sets the model's epoch tag to e (the
 * `sampler.set_epoch(e)` of a PyTorch script), so a loop need not call `model.setEpoch`.
 * Clipping is `clipGradNorm(gradients, scenario.clipNorm)` (clip.ts), after `optimizer.unscale()`
 * under fp16.
 */
export interface TrainingSession {
  readonly scenario: Scenario;
  readonly model: ProbeModel;
  readonly loader: MicroBatchLoader;
  readonly gradients: GradientBuffer;
  readonly optimizer: ProbeOptimizer;
  /**
   * The scenario's schedule (with warm-up) over the run's optimizer steps, E x ceil(len(loader) / K):
   * call `scheduler.step()` once after each applied step. It sets `optimizer.learningRate`.
   */
  readonly scheduler: LearningRateScheduler;
  /**
   * The parameters' exponential moving average with the scenario's `ema` decay (null without
   * one): call `average.update()` once after each applied step. The optimizer records it.
   */
  readonly average: ParameterAverage | null;
  /** The run's trace (empty when not recording); reads what the backend could not read during the run. */
  finish(): Promise<Trace>;
  /** Frees every tensor the session made. */
  dispose(): void;
}

/** This module's file: a stack frame in it is where a loop was called from. */
export const SESSION_FILE = fileURLToPath(import.meta.url);

/**
 * The first step-semantics field the scenario sets that needs synchronous reads (clipping's norm,
 * the average's projections, AdamW on phi held in JS), as its flag and value; null when none.
 */
function needsSynchronousReads(scenario: Scenario): string | null {
  if (scenario.clipNorm !== undefined) return `--clip-norm ${scenario.clipNorm}`;
  if (scenario.ema !== undefined) return `--ema ${scenario.ema}`;
  if (scenario.optimizer !== "sgd") return `--optimizer ${scenario.optimizer}`;
  return null;
}

/** Selects the backend and builds a session for one run of `trainer` on the scenario. */
export async function openSession(
  trainer: string,
  scenario: Scenario,
  dataset: Dataset,
  options: RunOptions = {},
): Promise<TrainingSession> {
  if (scenario.worldSize !== 1)
    throw new TrainerError(
      `${trainer}: world size ${scenario.worldSize}: expected 1 (the built-in TensorFlow.js trainers run in one process; the data-parallel trainers are python:ddp-docs-loop, python:ddp-tail-step and python:ddp-reference)`,
    );
  if (scenario.sampling !== "epochs")
    throw new TrainerError(
      `${trainer}: sampling ${scenario.sampling}: expected epochs (the built-in TensorFlow.js trainers run epochs over the dataset; audit a loop that draws with replacement through python:reference or your own python:MODULE:FUNCTION)`,
    );
  await selectBackend(options.backend ?? "cpu");
  const readsSynchronously = tf.getBackend() !== "webgpu";
  const unsupported = readsSynchronously ? null : needsSynchronousReads(scenario);
  if (unsupported)
    throw new TrainerError(
      `${trainer}: ${unsupported} on backend webgpu: the built-in TensorFlow.js trainers model it on the CPU, which needs synchronous reads that webgpu does not offer; use --backend cpu or wasm`,
    );
  if (!readsSynchronously && scenario.precision !== "fp32")
    throw new TrainerError(
      `${trainer}: precision ${scenario.precision} on backend webgpu: expected fp32 (half-precision gradients are rounded and checked for overflow on the CPU, which needs synchronous reads that webgpu does not offer); use --backend cpu or wasm for fp16 and bf16`,
    );
  const traceRecorder =
    options.record === false ? null : new TraceRecorder(scenario.datasetSize, readsSynchronously);
  const recording: Recorder = traceRecorder ?? new NoopRecorder();
  // Where the run stands, for a progress line, when someone listens (in this thread).
  const recorder: Recorder = options.onProgress
    ? new ProgressRecorder(recording, scenario, options.onProgress)
    : recording;
  const scaler = scenario.precision === "fp16" ? new LossScaler() : null;
  const model = new ProbeModel(scenario, dataset, recorder, {
    sparseGradients: readsSynchronously,
  });
  const epochs = createLoader(scenario);
  const loader: MicroBatchLoader = {
    length: epochs.length,
    epoch: (epoch) => {
      model.setEpoch(epoch);
      return epochs.epoch(epoch);
    },
  };
  const gradients = new GradientBuffer(model, scenario.precision, scaler);
  const optimizer = new ProbeOptimizer(model, gradients, scenario.learningRate, scaler, recorder, {
    optimizer: scenario.optimizer,
  });
  const scheduler = new LearningRateScheduler(optimizer, scenario.learningRate, {
    schedule: scenario.schedule,
    warmupSteps: scenario.warmupSteps,
    totalSteps: trainingSteps(scenario.epochs, epochs.length, scenario.accumulation),
  });
  const average = scenario.ema === undefined ? null : new ParameterAverage(model, scenario.ema);
  optimizer.watchAverage(average);
  return {
    scenario,
    model,
    loader,
    gradients,
    optimizer,
    scheduler,
    average,
    finish: () => {
      optimizer.finishRun(); // what changed the parameters after the last step
      return recorder.finish(
        {
          name: trainer,
          framework: "tensorflow.js",
          frameworkVersion: tf.version_core,
          backend: tf.getBackend(),
        },
        scenario,
      );
    },
    dispose: () => {
      traceRecorder?.dispose();
      optimizer.dispose();
      gradients.zero();
      model.dispose();
    },
  };
}

/** Opens a session, runs the loop, returns the trace and frees the session's tensors. */
export async function runSession(
  trainer: string,
  scenario: Scenario,
  dataset: Dataset,
  options: RunOptions | undefined,
  loop: (session: TrainingSession) => void | Promise<void>,
): Promise<Trace> {
  const session = await openSession(trainer, scenario, dataset, options);
  try {
    await loop(session);
    return await session.finish();
  } finally {
    session.dispose();
  }
}
