import type { Trainer } from "../contract/trainer.js";
import { TrainerError } from "../contract/trainer.js";
import { locatePython, pythonWorkerCommand } from "./interpreter.js";
import { createProtocolTrainer } from "./protocol-trainer.js";
import { type OutputSink, WorkerClient } from "./worker-client.js";

/** Python trainers the worker ships: the plain PyTorch loops, then the framework adapters. */
export const PYTHON_TRAINER_NAMES = [
  "python:docs-loop",
  "python:tail-step",
  "python:two-loop",
  "python:k-plus-one",
  "python:reference",
  "python:token-reference",
  "python:replacement-reference",
  "python:lightning",
  "python:accelerate",
  "python:hf-trainer",
  "python:hf-trainer-items",
  "python:hf-trainer-kwargs",
  "python:ddp-docs-loop",
  "python:ddp-tail-step",
  "python:ddp-reference",
  "python:accelerate-uneven",
  "python:accelerate-unguarded",
  "python:hf-trainer-items-uneven",
  "python:ignite",
  "python:keras",
  "python:fastai",
  "python:fastai-native",
  "python:mmengine",
  "python:poutyne",
] as const;

/** Options of {@link createPythonTrainer}. */
export interface PythonTrainerOptions {
  /** Interpreter; default $ACCUMAUDIT_PYTHON, else <repo>/.venv/bin/python, else python3. */
  python?: string;
  /** Device the worker trains on (default cpu). */
  device?: "cpu" | "cuda";
  /** Time one run may take before the worker is killed. */
  timeoutMs?: number;
}

const PREFIX = "python:";
/** The workers of each interpreter: one by default, up to {@link setPythonWorkerPoolSize}. */
const workers = new Map<string, WorkerClient[]>();
let poolSize = 1;
let output: OutputSink | undefined;

/**
 * How many worker processes each interpreter may run at once (default 1). With more than one, a
 * run goes to an idle worker, a new one starting while fewer than `size` exist, so that
 * concurrent runs (an audit's `jobs`) train in parallel.
 */
export function setPythonWorkerPoolSize(size: number): void {
  if (!Number.isInteger(size) || size < 1)
    throw new RangeError(`pool size: expected a whole number of at least 1, saw ${size}`);
  poolSize = size;
}

/** The current pool size of {@link setPythonWorkerPoolSize}. */
export function pythonWorkerPoolSize(): number {
  return poolSize;
}

/**
 * Sends every line a Python trainer prints (stdout and stderr: the worker keeps stdout for the
 * protocol) to `sink`, labelled with the trainer; `undefined` drops them (the default).
 */
export function setTrainerOutput(sink: OutputSink | undefined): void {
  output = sink;
  for (const pool of workers.values()) for (const client of pool) client.output = sink;
}

/**
 * A long-lived worker of an interpreter, shared by every Python trainer using it: the least loaded
 * of its pool, or a new one while the pool is below its size and every worker is busy.
 */
export function pythonWorker(python?: string): WorkerClient {
  const interpreter = locatePython(python);
  const pool = workers.get(interpreter) ?? [];
  workers.set(interpreter, pool);
  const idlest = pool.reduce<WorkerClient | undefined>(
    (best, client) => (best === undefined || client.load < best.load ? client : best),
    undefined,
  );
  if (idlest !== undefined && (idlest.load === 0 || pool.length >= poolSize)) return idlest;
  const client = new WorkerClient(pythonWorkerCommand(python));
  client.output = output;
  pool.push(client);
  return client;
}

/**
 * Starts (or takes) a worker of the interpreter and waits for its hello; rejects with a
 * NotAWorkerError (worker-client.ts) when the program is no interpreter that runs the worker.
 */
export function startPythonWorker(python?: string): Promise<void> {
  return pythonWorker(python).ready();
}

/** Shuts down every Python worker; later runs start new ones. */
export async function disposePythonWorkers(): Promise<void> {
  const clients = [...workers.values()].flat();
  workers.clear();
  await Promise.all(clients.map((client) => client.dispose()));
}

/**
 * A trainer run by the Python worker: `python:docs-loop` ... `python:hf-trainer-items`
 * ({@link PYTHON_TRAINER_NAMES}), or `python:MODULE:FUNCTION` for a user's `train(ctx)` function.
 */
export function createPythonTrainer(name: string, options: PythonTrainerOptions = {}): Trainer {
  const workerTrainer = name.startsWith(PREFIX) ? name.slice(PREFIX.length) : "";
  if (!workerTrainer)
    throw new TrainerError(
      `trainer: expected python:NAME (one of ${PYTHON_TRAINER_NAMES.join(", ")}) or python:MODULE:FUNCTION, saw ${JSON.stringify(name)}`,
    );
  const known = (PYTHON_TRAINER_NAMES as readonly string[]).includes(name);
  return createProtocolTrainer({
    name,
    workerTrainer,
    description: known
      ? `PyTorch trainer ${workerTrainer}`
      : `user's PyTorch training function ${workerTrainer}`,
    client: () => pythonWorker(options.python),
    concurrency: () => poolSize,
    ...(options.device ? { device: options.device } : {}),
    ...(options.timeoutMs ? { timeoutMs: options.timeoutMs } : {}),
  });
}
