import type { RunMeta } from "../reports/reporter.js";
import { BACKENDS } from "../trainers/contract/trainer.js";
import { DEFAULT_RUN_TIMEOUT_MS } from "../trainers/external/protocol-trainer.js";
import { shellWord } from "./replay.js";
import type { RunContext } from "./run-context.js";
import { harnessVersion } from "./version.js";

/** Usage lines of the flags check and audit share. */
export const RUN_USAGE = [
  `  [--backend ${BACKENDS.join("|")}] [--python PATH] [--device cpu|cuda]`,
  `  [--timeout SECONDS (per case, default ${DEFAULT_RUN_TIMEOUT_MS / 1000})] [--json] [--report FILE] [--junit FILE]`,
];

/** The run metadata reports show, from the run's flags. */
export function runMeta(
  context: RunContext,
  run: {
    precision: string;
    /** The weightings checked, e.g. "samples" or "samples, tokens". */
    weighting: string;
    command: readonly string[];
    seed?: number;
    runs?: number;
  },
): RunMeta {
  return {
    harnessVersion: harnessVersion(),
    date: new Date().toISOString(),
    backend: context.runOptions.backend ?? "cpu",
    ...(context.runOptions.device ? { device: context.runOptions.device } : {}),
    precision: run.precision,
    weighting: run.weighting,
    ...(run.seed === undefined ? {} : { seed: run.seed }),
    ...(run.runs === undefined ? {} : { runs: run.runs }),
    // Each word shell-quoted, as it would be typed again (cli/replay.ts).
    command: ["accumaudit", ...run.command].map(shellWord).join(" "),
  };
}
