import type { Dataset } from "./probe.js";
import type { Scenario } from "./scenario.js";
import type { Trace, TrainerInfo } from "./trace.js";

/** Compute backends for the built-in TensorFlow.js trainers. */
export const BACKENDS = ["cpu", "wasm", "webgpu", "tensorflow"] as const;
export type Backend = (typeof BACKENDS)[number];

/** How a run is carried out; none of it changes what a correct trainer must do. */
export interface RunOptions {
  /** TensorFlow.js backend for built-in trainers (default cpu). */
  backend?: Backend;
  /** Device for external trainers: cpu or cuda (default cpu). */
  device?: "cpu" | "cuda";
  /** When false, the trainer trains without recording (benchmarks measure the audit's overhead). */
  record?: boolean;
  /** Abort the run after this many milliseconds (external trainers). */
  timeoutMs?: number;
  /**
   * Receives where the run stands while it trains: at its first micro-batch, then at most about
   * twice a second (Python trainers through the worker, built-in ones from their loop). A trainer
   * that cannot tell never calls it.
   */
  onProgress?: (progress: RunProgress) => void;
}

/**
 * Where a run in flight stands. Under epoch sampling: the epoch in progress (0-based, the trace's
 * epoch tag), the micro-batches of that epoch run so far (forward passes: a window redone counts
 * again) and per epoch, and the optimizer steps so far. Under replacement sampling (no epochs): the
 * micro-batches of the run so far, of `totalSteps` x K, and the steps so far, of `totalSteps`. With
 * data-parallel ranks, rank 0's share.
 */
export type RunProgress =
  | {
      sampling: "epochs";
      epoch: number;
      epochs: number;
      microBatch: number;
      microBatches: number;
      steps: number;
    }
  | {
      sampling: "replacement";
      microBatch: number;
      microBatches: number;
      steps: number;
      totalSteps: number;
    };

/** A candidate trainer: runs a scenario on the probe model and returns the trace of what it did. */
export interface Trainer {
  /** Name used on the command line, e.g. `docs-loop` or `python:lightning`. */
  readonly name: string;
  /** One line on how the trainer accumulates. */
  readonly description: string;
  /** Trains the probe model on the scenario and returns the trace. */
  run(scenario: Scenario, dataset: Dataset, options?: RunOptions): Promise<Trace>;
  /** What produced the traces (framework, version); known after the first run for external trainers. */
  info?(): TrainerInfo | undefined;
  /**
   * The largest world size (data-parallel ranks) the trainer runs; 1 when absent. An audit draws
   * world sizes up to it; a run above it fails with a one-line error.
   */
  maxWorldSize?(): Promise<number>;
  /**
   * The step-semantics fields (scenario keys: clipNorm, schedule, warmupSteps, ema, optimizer,
   * overflowStep) the trainer honours; undefined (or absent) for every one. An audit that draws
   * step semantics draws only these; a scenario setting another is refused by the trainer.
   */
  stepFields?(): Promise<readonly string[] | undefined>;
  /**
   * How many runs may go on at once and really train in parallel (worker processes, or the
   * built-in trainers' TensorFlow.js threads); 1 when absent, as for a loop run in the main
   * thread. An audit with `jobs` runs up to this many search cases at a time.
   */
  concurrency?(): number;
  /** Releases processes or backends the trainer holds. */
  dispose?(): Promise<void>;
}

/** One frame of a trainer's own code that an exception passed through. */
export interface TrainerFrame {
  file: string;
  line: number;
  function: string;
  /** The source line, stripped; empty when unknown. */
  code: string;
}

/** What a trainer's failure carries beside its one-line message. */
export interface TrainerErrorDetail {
  /** The frames of the trainer's own code, outermost first. */
  traceback?: TrainerFrame[];
  /** The last lines the trainer printed (stdout and stderr) while it ran. */
  output?: string[];
  /** The run ended because it gave no answer within its timeout, this many milliseconds. */
  timeoutMs?: number;
}

/** A trainer failed to run a scenario (not a property failure). */
export class TrainerError extends Error {
  override name = "TrainerError";

  constructor(
    message: string,
    readonly detail: TrainerErrorDetail = {},
  ) {
    super(message);
  }
}
