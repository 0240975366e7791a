import { type ChildProcessWithoutNullStreams, spawn } from "node:child_process";
import { createInterface } from "node:readline";
import { TrainerError } from "../contract/trainer.js";

/** How to start a worker: the program, its arguments and extra environment. */
export interface WorkerCommand {
  command: string;
  args: readonly string[];
  env?: Record<string, string>;
}

/**
 * The environment variables that set how many threads a worker's math libraries use: OpenMP
 * (PyTorch's intra-op threads follow it) and Intel MKL.
 */
export const THREAD_VARIABLES = ["OMP_NUM_THREADS", "MKL_NUM_THREADS"] as const;

/**
 * The environment a worker starts with: `parent` (this process's environment), then the
 * command's own `env`, and, unless either of them sets one of {@link THREAD_VARIABLES} to a
 * non-empty value, `OMP_NUM_THREADS=1` and `MKL_NUM_THREADS=1`.
 *
 * One thread per worker is the default because workers run side by side (an audit's `--jobs`
 * starts one per job) and a single PyTorch check is not faster with more: on a loaded 2-core
 * machine a python:reference check of N = 1e5 took 7.8 s with one thread against 83 s with
 * PyTorch's default of one per core, its threads fighting the machine's other work for the
 * cores. To give workers more threads, set `OMP_NUM_THREADS` (or `MKL_NUM_THREADS`) in the
 * environment accumaudit runs in, e.g. `OMP_NUM_THREADS=4 accumaudit check ...`: a value the
 * user set always wins, and then neither variable is added.
 */
export function workerEnvironment(
  command: WorkerCommand,
  parent: NodeJS.ProcessEnv = process.env,
): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...parent, ...command.env };
  const userSet = THREAD_VARIABLES.some((name) => (env[name] ?? "") !== "");
  if (!userSet) for (const name of THREAD_VARIABLES) env[name] = "1";
  return env;
}

/** Characters of the worker's stderr kept for error messages. */
const STDERR_TAIL = 4000;

/** The longest delay Node's timers hold (2^31 − 1 ms, about 24.8 days); a longer one fires at once. */
export const MAX_TIMER_MS = 2 ** 31 - 1;

/** A worker that can no longer be trusted (crashed, hung, broke the protocol): kill it, start afresh. */
export class WorkerBrokenError extends TrainerError {}

/** The worker process could not start or has exited. */
export class WorkerExitError extends WorkerBrokenError {
  /**
   * @param ended What the program did: "exited with code 0", "cannot start python3 (spawn python3 ENOENT)".
   * @param stderr `; stderr: ...`, or nothing (see {@link WorkerProcess.stderrSuffix}).
   */
  constructor(
    readonly ended: string,
    readonly stderr: string,
  ) {
    super(`worker: ${ended}${stderr}`);
  }
}

/** The worker's stderr tail as one line, for error messages. */
function oneLine(text: string, max = 600): string {
  const flat = text.trim().split(/\r?\n/).join(" | ");
  return flat.length > max ? `...${flat.slice(flat.length - max)}` : flat;
}

/**
 * One running worker process: lines in, lines out, stderr tail kept. It knows nothing of the
 * messages' meaning; {@link WorkerClient} does. It starts with {@link workerEnvironment}: one
 * math-library thread unless the user's environment says otherwise.
 */
export class WorkerProcess {
  /** Every worker alive in this process, so that a signal can end them all at once. */
  private static readonly alive = new Set<WorkerProcess>();
  /** Workers started ahead of their first request ({@link prestart}), by command. */
  private static readonly waiting = new Map<string, WorkerProcess>();

  /**
   * Starts a worker for `command` now, so that its interpreter imports while the caller prepares;
   * {@link take} hands it to the first client with the same command. A worker nobody takes is
   * killed on exit, as every worker is. Returns that worker.
   */
  static prestart(command: WorkerCommand): WorkerProcess {
    const key = JSON.stringify(command);
    const waiting = WorkerProcess.waiting.get(key);
    if (waiting) return waiting;
    const worker = new WorkerProcess(command);
    worker.setActive(false); // until taken, it must not keep a process that ends early alive
    WorkerProcess.waiting.set(key, worker);
    return worker;
  }

  /** The worker {@link prestart} started for `command`, if it is still alive; else a new one. */
  static take(command: WorkerCommand): WorkerProcess {
    const key = JSON.stringify(command);
    const early = WorkerProcess.waiting.get(key);
    WorkerProcess.waiting.delete(key);
    return early && !early.dead ? early : new WorkerProcess(command);
  }

  /** Kills every live worker and whatever it started (its data-parallel ranks), at once. */
  static killAll(): void {
    for (const worker of WorkerProcess.alive) worker.kill();
  }

  private readonly child: ChildProcessWithoutNullStreams;
  private readonly lines: string[] = [];
  private waiter: { resolve: (line: string) => void; reject: (error: Error) => void } | undefined;
  private failure: Error | undefined;
  private stderr = "";
  /** Called with every line the worker (and what it runs) writes to stderr. */
  onStderrLine: ((line: string) => void) | undefined;
  /** The prefix of the worker's stderr sync lines (its hello says it), and the last id they named. */
  private syncPrefix: string | undefined;
  private synced: string | undefined;
  private syncWaiter: (() => void) | undefined;

  constructor(readonly command: WorkerCommand) {
    // Its own process group, so that killing the worker kills the rank processes it starts too.
    this.child = spawn(command.command, [...command.args], {
      stdio: ["pipe", "pipe", "pipe"],
      env: workerEnvironment(command),
      detached: true,
    });
    WorkerProcess.alive.add(this);
    this.child.stdin.on("error", () => {
      // A dead worker's closed stdin; the close event reports the cause.
    });
    this.child.stderr.setEncoding("utf8");
    this.child.stderr.on("data", (chunk: string) => {
      this.stderr = this.withoutSyncLines(this.stderr + chunk).slice(-STDERR_TAIL);
    });
    createInterface({ input: this.child.stderr, crlfDelay: Number.POSITIVE_INFINITY }).on(
      "line",
      (line) => {
        if (this.syncPrefix !== undefined && line.startsWith(this.syncPrefix)) {
          this.synced = line.slice(this.syncPrefix.length);
          this.syncWaiter?.();
        } else this.onStderrLine?.(line);
      },
    );
    createInterface({ input: this.child.stdout, crlfDelay: Number.POSITIVE_INFINITY }).on(
      "line",
      (line) => this.deliver(line),
    );
    this.child.on("error", (error) =>
      this.fail(new WorkerExitError(`cannot start ${command.command} (${error.message})`, "")),
    );
    this.child.on("close", (code, signal) =>
      this.fail(
        new WorkerExitError(
          `exited with ${signal ? `signal ${signal}` : `code ${code}`}`,
          this.stderrSuffix(),
        ),
      ),
    );
    process.once("exit", this.killOnExit);
  }

  private readonly killOnExit = (): void => {
    this.kill();
  };

  /** The worker's process id (and process group id). */
  get pid(): number | undefined {
    return this.child.pid;
  }

  /** Starts telling stderr sync lines with this prefix apart from what the worker prints. */
  useStderrSync(prefix: string): void {
    this.syncPrefix = prefix;
  }

  /**
   * Resolves once the worker's stderr has been read up to the sync line of request `id` (so every
   * line the request printed has been delivered), after `waitMs` at the latest, or at once for a
   * worker that writes no sync lines.
   */
  stderrReadUpTo(id: string | number, waitMs: number): Promise<void> {
    if (this.syncPrefix === undefined || this.synced === String(id) || this.dead)
      return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.syncWaiter = undefined;
        resolve();
      };
      const timer = setTimeout(done, waitMs);
      this.syncWaiter = () => {
        if (this.synced === String(id)) done();
      };
    });
  }

  private withoutSyncLines(text: string): string {
    const prefix = this.syncPrefix;
    if (prefix === undefined || !text.includes(prefix)) return text;
    return text
      .split("\n")
      .filter((line, i, all) => !line.startsWith(prefix) || i === all.length - 1)
      .join("\n");
  }

  /** Last characters the worker wrote to stderr. */
  get stderrTail(): string {
    return this.stderr;
  }

  /** True once the process has exited or failed to start. */
  get dead(): boolean {
    return this.failure !== undefined;
  }

  /** `; stderr: ...` with the stderr tail on one line, or nothing when stderr is empty. */
  stderrSuffix(): string {
    const tail = oneLine(this.stderr);
    return tail ? `; stderr: ${tail}` : "";
  }

  /** Writes one message line. */
  send(message: unknown): void {
    if (this.failure) throw this.failure;
    this.child.stdin.write(`${JSON.stringify(message)}\n`);
  }

  /**
   * The next line from the worker's stdout; rejects when the worker dies or `waitMs` passes (at
   * most {@link MAX_TIMER_MS}; by default `timeoutMs`, less when lines came before within the same
   * timeout, such as a run's progress). A run's timeout rejects with `timeoutMs` in the error's detail.
   */
  nextLine(timeoutMs: number, waitingFor: string, waitMs = timeoutMs): Promise<string> {
    const line = this.lines.shift();
    if (line !== undefined) return Promise.resolve(line);
    if (this.failure) return Promise.reject(this.failure);
    this.setActive(true);
    const run = waitingFor.startsWith("response to run");
    return new Promise<string>((resolve, reject) => {
      const timer = setTimeout(
        () => {
          this.waiter = undefined;
          this.kill();
          reject(
            new WorkerBrokenError(
              `worker: no ${waitingFor} within ${Number((timeoutMs / 1000).toPrecision(3))} s${run ? " (the per-case --timeout)" : ""}; worker killed${this.stderrSuffix()}`,
              run ? { timeoutMs } : {},
            ),
          );
        },
        Math.min(Math.max(waitMs, 0), MAX_TIMER_MS),
      );
      this.waiter = {
        resolve: (value) => {
          clearTimeout(timer);
          this.setActive(false);
          resolve(value);
        },
        reject: (error) => {
          clearTimeout(timer);
          reject(error);
        },
      };
    });
  }

  /** Asks the worker to exit (shutdown message, stdin closed), killing it after `graceMs`. */
  async shutdown(graceMs = 3000): Promise<void> {
    if (this.failure) return;
    // Idle workers are unref'd; waiting for this one's exit must keep Node's event loop alive.
    this.setActive(true);
    const closed = new Promise<void>((resolve) => this.child.once("close", () => resolve()));
    try {
      this.child.stdin.end(`${JSON.stringify({ type: "shutdown" })}\n`);
    } catch {
      // Already closing.
    }
    const timer = setTimeout(() => this.kill(), graceMs);
    await closed;
    clearTimeout(timer);
  }

  /** Kills the worker and its process group (the ranks it started) at once. */
  kill(): void {
    const pid = this.child.pid;
    try {
      if (pid !== undefined) process.kill(-pid, "SIGKILL");
    } catch {
      // The group is gone already; the child itself may still need the signal.
    }
    this.child.kill("SIGKILL");
  }

  /** An idle worker must not keep Node's event loop alive; a busy one must. */
  private setActive(active: boolean): void {
    const handles: unknown[] = [this.child, this.child.stdout, this.child.stderr, this.child.stdin];
    for (const handle of handles as Array<{ ref?: () => void; unref?: () => void }>) {
      if (active) handle.ref?.();
      else handle.unref?.();
    }
  }

  private deliver(line: string): void {
    if (this.waiter) {
      const { resolve } = this.waiter;
      this.waiter = undefined;
      resolve(line);
    } else {
      this.lines.push(line);
    }
  }

  private fail(error: Error): void {
    if (this.failure) return;
    this.failure = error;
    WorkerProcess.alive.delete(this);
    process.removeListener("exit", this.killOnExit);
    if (this.waiter) {
      const { reject } = this.waiter;
      this.waiter = undefined;
      reject(error);
    }
  }
}
