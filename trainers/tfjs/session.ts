import { fileURLToPath } from "node:url";
import * as tf from "@tensorflow/tfjs-core";
import type { Dataset } from "../contract/probe.js";
import type { Scenario } from "../contract/scenario.js";
import type { Trace } from "../contract/trace.js";
import { type RunOptions, TrainerError } from "../contract/trainer.js";
import { selectBackend } from "./backend.js";
import { GradientBuffer } from "./gradients.js";
import { createLoader, type MicroBatchLoader } from "./loader.js";
import { LossScaler } from "./loss-scaler.js";
import { SgdOptimizer } from "./optimizer.js";
import { ProbeModel } from "./probe-model.js";
import { ProgressRecorder } from "./progress-recorder.js";
import { NoopRecorder, type Recorder, TraceRecorder } from "./recorder.js";

/**
 * What a training loop works with, as in a PyTorch script: the model, the loader, the
 * gradients (`loss.backward()` accumulates into them) and the optimizer. The recorder behind
 * them writes the trace. `loader.epoch(e)` also sets the model's epoch tag to e (the
 * `sampler.set_epoch(e)` of a PyTorch script), so a loop need not call `model.setEpoch`.
 */
export interface TrainingSession {
  readonly scenario: Scenario;
  readonly model: ProbeModel;
  readonly loader: MicroBatchLoader;
  readonly gradients: GradientBuffer;
  readonly optimizer: SgdOptimizer;
  /** The run's trace (empty when not recording); reads what the backend could not read during the run. */
  finish(): Promise<Trace>;
  /** Frees every tensor the session made. */
  dispose(): void;
}

/** This module's file: a stack frame in it is where a loop was called from. */
export const SESSION_FILE = fileURLToPath(import.meta.url);

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
  const optimizer = new SgdOptimizer(model, gradients, scenario.learningRate, scaler, recorder);
  return {
    scenario,
    model,
    loader,
    gradients,
    optimizer,
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
