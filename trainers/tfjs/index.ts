import type { Trainer } from "../contract/trainer.js";
import { directTfjsTrainers } from "./built-in.js";
import { threadedTrainer } from "./thread-pool.js";

export * as tf from "@tensorflow/tfjs-core";
export { ParameterAverage } from "./average.js";
export { activeBackend, selectBackend } from "./backend.js";
export { clipGradNorm } from "./clip.js";
export { defineTfjsTrainer, type TfjsLoop, type TfjsTrainerDefinition } from "./define.js";
export type { FingerprintGradientSink } from "./fingerprint-parameters.js";
export type { GradientBuffer, SparseGradient } from "./gradients.js";
export {
  createLoader,
  type MicroBatchLoader,
  type MicroBatchSamples,
  sampleOrder,
} from "./loader.js";
export { docsLoop } from "./loops/docs-loop.js";
export { referenceLoop } from "./loops/reference.js";
export { LossScaler } from "./loss-scaler.js";
export type { OptimizerOptions, ProbeOptimizer, SgdOptimizer } from "./optimizer.js";
export { roundToBfloat16, roundToHalf } from "./precision.js";
export { ProbeModel, type ProbeModelOptions } from "./probe-model.js";
export { NoopRecorder, type Recorder, TraceRecorder } from "./recorder.js";
export { LearningRateScheduler, scheduleMultiplier } from "./schedule.js";
export { openSession, runSession, type TrainingSession } from "./session.js";
export {
  disposeTfjsThreads,
  liveTfjsThreads,
  setTfjsThreadPoolSize,
  THREADED_BACKENDS,
  tfjsThreadPoolSize,
  tfjsThreadsInUse,
} from "./thread-pool.js";

/** Names of the built-in TensorFlow.js trainers, the reference last. */
export const tfjsTrainerNames = [
  "docs-loop",
  "tail-step",
  "two-loop",
  "k-plus-one",
  "reference",
] as const;

/**
 * The built-in TensorFlow.js candidate trainers, in {@link tfjsTrainerNames} order. They run in
 * the main thread, or on TensorFlow.js threads while {@link setTfjsThreadPoolSize} is above 1.
 */
export function createTfjsTrainers(): Trainer[] {
  return directTfjsTrainers().map(threadedTrainer);
}
