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
    WorkerProcess.killAll();
    void disposeTfjsThreads();
    if (received) process.exit(130);
    received = signal;
    process.stderr.write(`\naccumaudit: interrupted by ${signal}; every worker stopped\n`);
    controller.abort();
  };
  for (const name of INTERRUPTING_SIGNALS) process.on(name, handler);
  return {
    signal: controller.signal,
    get received() {
      return received;
    },
    dispose() {
      for (const name of INTERRUPTING_SIGNALS) process.removeListener(name, handler);
    },
  };
}
