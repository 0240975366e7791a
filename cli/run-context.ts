import type { ReplayCommand } from "../reports/reporter.js";
import type { RunOptions } from "../trainers/contract/trainer.js";
import { DEFAULT_RUN_TIMEOUT_MS } from "../trainers/external/protocol-trainer.js";
import { startPythonWorker } from "../trainers/external/python-trainer.js";
import { NotAWorkerError } from "../trainers/external/worker-client.js";
import type { ExternalOptions } from "../trainers/registry.js";
import { backendFlag, choiceFlag, type FlagValues, timeoutFlag } from "./options.js";
import { currentInvocation, type Invocation, programWords, replayCommand } from "./replay.js";
import { UsageError } from "./usage-error.js";

/** How trainers run, from the flags check and audit share. */
export interface RunContext {
  runOptions: RunOptions;
  external: ExternalOptions;
  /** The `accumaudit check` command that replays a case as this run did (cli/replay.ts). */
  replay: ReplayCommand;
}

/**
 * Reads --backend, --python, --device and --timeout; the replay command starts accumaudit as
 * `invocation` did and sets again the environment a Python trainer's worker read.
 */
export function runContextFromFlags(
  values: FlagValues,
  invocation: Invocation = currentInvocation(),
): RunContext {
  const backend = backendFlag(values);
  const device = choiceFlag(values, "device", ["cpu", "cuda"] as const);
  const timeoutMs = timeoutFlag(values);
  const python = typeof values.python === "string" ? values.python : undefined;
  const runOptions: RunOptions = {
    ...(backend ? { backend } : {}),
    ...(device ? { device } : {}),
    ...(timeoutMs ? { timeoutMs } : {}),
  };
  const external: ExternalOptions = {
    ...(python ? { python } : {}),
    ...(device ? { device } : {}),
    ...(timeoutMs ? { timeoutMs } : {}),
  };
  const replay = replayCommand({
    program: programWords(invocation),
    env: invocation.env,
    ...(backend ? { backend } : {}),
    ...(python ? { python } : {}),
    ...(device ? { device } : {}),
    ...(timeoutMs && timeoutMs !== DEFAULT_RUN_TIMEOUT_MS
      ? { timeout: String(timeoutMs / 1000) }
      : {}),
  });
  return { runOptions, external, replay };
}

/**
 * Refuses an empty --python and run flags that no selected trainer uses: --backend without a
 * built-in trainer, --python or --device without a python: trainer.
 */
export function assertRunFlagsApply(values: FlagValues, trainers: readonly string[]): void {
  if (values.python !== undefined && String(values.python).trim() === "")
    throw new UsageError(
      `--python: expected the path of a Python interpreter with torch, saw ${JSON.stringify(values.python)}`,
    );
  const python = trainers.some((name) => name.startsWith("python:"));
  const builtIn = trainers.some((name) => !name.startsWith("python:"));
  if (values.backend !== undefined && !builtIn)
    throw new UsageError(
      "--backend: applies to the built-in TensorFlow.js trainers; a python: trainer runs on --device",
    );
  for (const flag of ["python", "device"] as const)
    if (values[flag] !== undefined && !python)
      throw new UsageError(
        `--${flag}: applies to python: trainers; the built-in trainers run on --backend`,
      );
}

/**
 * With --python and a python: trainer, waits for that interpreter's worker to say hello (the
 * first run would wait for it too): a program that ends before it, or cannot start, is a usage
 * error naming the flag. Any other trouble (a hello that does not come in time) is left to the
 * runs, which report it per trainer.
 */
export async function assertPythonStarts(
  values: FlagValues,
  trainers: readonly string[],
): Promise<void> {
  if (typeof values.python !== "string" || !trainers.some((name) => name.startsWith("python:")))
    return;
  try {
    await startPythonWorker(values.python);
  } catch (error) {
    if (error instanceof NotAWorkerError) throw new UsageError(`--python: ${error.problem}`);
  }
}
