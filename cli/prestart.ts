import { pythonWorkerCommand } from "../trainers/external/interpreter.js";
import { WorkerProcess } from "../trainers/external/worker-process.js";

/** The values of `--name VALUE` and `--name=VALUE` in `args`, in order. */
function flagValues(args: readonly string[], name: string): string[] {
  const values: string[] = [];
  for (let k = 0; k < args.length; k++) {
    const arg = args[k] ?? "";
    if (arg === `--${name}` && args[k + 1] !== undefined) values.push(args[++k] ?? "");
    else if (arg.startsWith(`--${name}=`)) values.push(arg.slice(name.length + 3));
  }
  return values;
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
  if (args.includes("--help") || args.includes("-h")) return;
  if (!flagValues(args, "trainer").some((name) => name.startsWith("python:"))) return;
  const pythons = flagValues(args, "python");
  if (pythons.length > 1) return;
  try {
    WorkerProcess.prestart(pythonWorkerCommand(pythons[0]));
  } catch {
    // The run starts its worker itself and reports what went wrong.
  }
}
