import type { Dataset } from "../contract/probe.js";
import type { Scenario } from "../contract/scenario.js";
import {
  type RunOptions,
  type RunProgress,
  TrainerError,
  type TrainerErrorDetail,
} from "../contract/trainer.js";
import type { ThreadTrace } from "./thread-trace.js";

/** What the pool posts to a TensorFlow.js thread: run this built-in trainer on this case. */
export interface RunRequest {
  id: number;
  trainer: string;
  scenario: Scenario;
  dataset: Dataset;
  /** The run's options, but for `onProgress` (a function does not cross to a thread). */
  options: Omit<RunOptions, "onProgress">;
  /** Whether the thread posts the run's progress (the main thread has an `onProgress` for it). */
  progress: boolean;
}

/**
 * What a thread posts back for a {@link RunRequest}: its progress while it trains (when asked),
 * then the packed trace, or what was thrown.
 */
export type RunReply =
  | { id: number; kind: "progress"; progress: RunProgress }
  | { id: number; kind: "trace"; trace: ThreadTrace }
  | { id: number; kind: "error"; thrown: ThrownInThread };

/** An exception of a run in a thread, as it crosses to the main thread. */
export interface ThrownInThread {
  message: string;
  detail: TrainerErrorDetail;
  stack?: string;
}

/** Describes an exception of a run for its reply. */
export function describeThrown(error: unknown): ThrownInThread {
  return {
    message: error instanceof Error ? error.message : String(error),
    detail: error instanceof TrainerError ? error.detail : {},
    ...(error instanceof Error && error.stack ? { stack: error.stack } : {}),
  };
}

/**
 * The exception a run in a thread becomes in the main thread: a {@link TrainerError} with the
 * message and detail (traceback, output) of the one thrown there, so that a check reports the
 * same error as when the trainer runs in the main thread; its stack is the thread's.
 */
export function thrownError(thrown: ThrownInThread): TrainerError {
  const error = new TrainerError(thrown.message, thrown.detail);
  if (thrown.stack) error.stack = thrown.stack;
  return error;
}
