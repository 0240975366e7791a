import type { ReplayCommand } from "../reports/reporter.js";
import type { RunOptions } from "../trainers/contract/trainer.js";
import type { ExternalOptions } from "../trainers/registry.js";
import { backendFlag, choiceFlag, type FlagValues, timeoutFlag } from "./options.js";
import { replayCommand } from "./replay.js";

/** How trainers run, from the flags check and audit share. */
export interface RunContext {
  runOptions: RunOptions;
  external: ExternalOptions;
  /** The `accumaudit check` command that replays a case with the same run flags. */
  replay: ReplayCommand;
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
  const runFlags: string[] = [];
  if (backend) runFlags.push("--backend", backend);
  if (python) runFlags.push("--python", python);
  if (device) runFlags.push("--device", device);
  return { runOptions, external, replay: replayCommand(runFlags) };
}
