import type { RunOptions } from "../trainers/contract/trainer.js";
import type { ExternalOptions } from "../trainers/registry.js";
import { backendFlag, choiceFlag, type FlagValues, timeoutFlag } from "./options.js";

/** How trainers run, from the flags check and audit share. */
export interface RunContext {
  runOptions: RunOptions;
  external: ExternalOptions;
  /** The same choices as `accumaudit check` flags, for replay commands. */
  replayFlags: string[];
}

/** Reads --backend, --python, --device and --timeout. */
export function runContextFromFlags(values: FlagValues): RunContext {
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
  const replayFlags: string[] = [];
  if (backend) replayFlags.push("--backend", backend);
  if (python) replayFlags.push("--python", python);
  if (device) replayFlags.push("--device", device);
  return { runOptions, external, replayFlags };
}
