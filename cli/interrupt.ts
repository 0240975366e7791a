import { WorkerProcess } from "../trainers/external/worker-process.js";
import { disposeTfjsThreads } from "../trainers/tfjs/thread-pool.js";

/** The signals that interrupt a command: Ctrl-C, a termination request, a closed terminal. */
export const INTERRUPTING_SIGNALS = ["SIGINT", "SIGTERM", "SIGHUP"] as const;

/** What a command learns of Ctrl-C, a termination request or a closed terminal. */
export interface Interruption {
  /** Aborted by the first of {@link INTERRUPTING_SIGNALS}. */
  signal: AbortSignal;
  /** The signal that arrived, once one has. */
  readonly received: NodeJS.Signals | undefined;
  /** Stops listening. */
  dispose(): void;
}

/** Whether a command watches for interrupts now ({@link watchInterrupts}). */
let watched = false;

/** Stops every worker, the ranks they started, and every TensorFlow.js thread, at once. */
function stopEverything(): void {
  WorkerProcess.killAll();
  void disposeTfjsThreads();
}

/**
 * For the whole life of the process: a signal of {@link INTERRUPTING_SIGNALS} that comes while no
 * command watches for it (loading, reading the flags, after the run's outputs) stops every worker
 * and ends the tool at once with 130, saying so on stderr, instead of Node's default end by the
 * signal (no line, and a shell's 143 or 129). Call it first thing; a command's
 * {@link watchInterrupts} takes over while it runs.
 */
export function interruptAtOnceUnlessWatched(): void {
  const handler = (signal: NodeJS.Signals) => {
    if (watched) return;
    stopEverything();
    process.stderr.write(`\naccumaudit: interrupted by ${signal}; every worker stopped\n`);
    process.exit(130);
  };
  for (const name of INTERRUPTING_SIGNALS) process.on(name, handler);
}

/**
 * Listens for SIGINT, SIGTERM and SIGHUP while a command runs. The first stops every worker and
 * the ranks it started, and every TensorFlow.js thread, at once and aborts `signal`, so the
 * command can report what it found and exit 130; a second ends the process at once. (SIGHUP
 * would otherwise end Node at once, leaving its workers to notice on their own that it is gone.)
 */
export function watchInterrupts(): Interruption {
  const controller = new AbortController();
  let received: NodeJS.Signals | undefined;
  const handler = (signal: NodeJS.Signals) => {
    stopEverything();
    if (received) process.exit(130);
    received = signal;
    process.stderr.write(`\naccumaudit: interrupted by ${signal}; every worker stopped\n`);
    controller.abort();
  };
  for (const name of INTERRUPTING_SIGNALS) process.on(name, handler);
  watched = true;
  return {
    signal: controller.signal,
    get received() {
      return received;
    },
    dispose() {
      watched = false;
      for (const name of INTERRUPTING_SIGNALS) process.removeListener(name, handler);
    },
  };
}
