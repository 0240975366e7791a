import { parseArgs } from "node:util";
import { pythonWorkerCommand } from "../trainers/external/interpreter.js";
import { WorkerProcess } from "../trainers/external/worker-process.js";

/** The string values of the flags the early start reads; every other argument is passed over. */
function earlyFlags(args: string[]): { trainer: string[]; python: string[]; help: boolean } {
  const { values } = parseArgs({
    args,
    options: {
      trainer: { type: "string", multiple: true },
      python: { type: "string", multiple: true },
      help: { type: "boolean", short: "h" },
    },
    strict: false,
    allowPositionals: true,
  });
  const strings = (value: unknown): string[] =>
    Array.isArray(value) ? value.filter((v): v is string => typeof v === "string") : [];
  return {
    trainer: strings(values.trainer),
    python: strings(values.python),
    help: values.help === true,
  };
}

/**
 * Starts the Python worker of a `check` or `audit` that names a python: trainer before the rest of
 * the command line tool is loaded, so that the interpreter imports torch while Node loads and the
 * command prepares; the first run takes that worker ({@link WorkerProcess.take}). A light look at
 * the arguments only: the command's own parsing still decides, and reports every mistake. Starts
 * nothing when in doubt (help, no python: trainer), and never throws.
 */
export function prestartPythonWorker(argv: readonly string[]): void {
  const [command, ...args] = argv;
  if (command !== "check" && command !== "audit") return;
  try {
    const flags = earlyFlags(args);
    if (flags.help || flags.python.length > 1) return;
    if (!flags.trainer.some((name) => name.startsWith("python:"))) return;
    WorkerProcess.prestart(pythonWorkerCommand(flags.python[0]));
  } catch {
    // The run starts its worker itself and reports what went wrong.
  }
}
