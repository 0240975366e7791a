import { initialBodyParameters } from "../contract/probe.js";
import { type Trace, TraceError, type TrainerInfo } from "../contract/trace.js";
import { type RunOptions, type Trainer, TrainerError } from "../contract/trainer.js";
import { decodeWireTrace } from "./wire-trace.js";
import type { TrainerDescription, WorkerClient } from "./worker-client.js";

/** Default time one run may take before its worker is killed. */
export const DEFAULT_RUN_TIMEOUT_MS = 600_000;

/** What a trainer served by a protocol worker needs. */
export interface ProtocolTrainerOptions {
  /** Harness-side name, e.g. `python:docs-loop`. */
  name: string;
  /** Worker-side name, e.g. `docs-loop`. */
  workerTrainer: string;
  description: string;
  /** Returns the (shared) worker client to run on; called at every run, so a disposed pool restarts. */
  client: () => WorkerClient;
  device?: "cpu" | "cuda";
  timeoutMs?: number;
  /** Runs that may go on at once (the size of the pool `client` picks from); default 1. */
  concurrency?: () => number;
}

/**
 * A {@link Trainer} whose runs happen in a worker process (docs/protocol.md), for any language.
 * Every failure (crash, hang, protocol garbage, worker error, invalid trace) is a TrainerError
 * naming the trainer.
 */
export function createProtocolTrainer(options: ProtocolTrainerOptions): Trainer {
  let lastInfo: TrainerInfo | undefined;
  let description: Promise<TrainerDescription> | undefined;
  const describe = (): Promise<TrainerDescription> => {
    description ??= options
      .client()
      .describe(options.workerTrainer)
      .catch((error: unknown) => {
        description = undefined;
        throw new TrainerError(
          `${options.name}: ${error instanceof Error ? error.message : String(error)}`,
        );
      });
    return description;
  };
  return {
    name: options.name,
    description: options.description,
    async run(scenario, dataset, runOptions: RunOptions = {}): Promise<Trace> {
      const timeoutMs = runOptions.timeoutMs ?? options.timeoutMs ?? DEFAULT_RUN_TIMEOUT_MS;
      let raw: unknown;
      try {
        raw = await options.client().run(
          {
            trainer: options.workerTrainer,
            scenario,
            dataset,
            initialParameters: initialBodyParameters(scenario),
            device: runOptions.device ?? options.device ?? "cpu",
            record: runOptions.record ?? true,
            ...(runOptions.onProgress ? { onProgress: runOptions.onProgress } : {}),
          },
          timeoutMs,
        );
      } catch (error) {
        throw new TrainerError(
          `${options.name}: ${error instanceof Error ? error.message : String(error)}`,
          error instanceof TrainerError ? error.detail : {},
        );
      }
      let trace: Trace;
      try {
        trace = decodeWireTrace(raw);
      } catch (error) {
        if (error instanceof TraceError)
          throw new TrainerError(`${options.name}: worker sent an ${error.message}`);
        throw error;
      }
      lastInfo = trace.trainer;
      return trace;
    },
    info: () => lastInfo,
    concurrency: () => options.concurrency?.() ?? 1,
    maxWorldSize: () => describe().then((d) => d.maxWorldSize),
    stepFields: () => describe().then((d) => d.stepFields),
  };
}
