import { WorkerProcess } from "../trainers/external/worker-process.js";
import { disposeTfjsThreads } from "../trainers/tfjs/thread-pool.js";

/** What a command learns of Ctrl-C or a termination request. */
export interface Interruption {
  /** Aborted by the first SIGINT or SIGTERM. */
  signal: AbortSignal;
  /** The signal that arrived, once one has. */
  readonly received: NodeJS.Signals | undefined;
  /** Stops listening. */
  dispose(): void;
}

/**
 * Listens for SIGINT and SIGTERM while a command runs. The first stops every worker and the
 * ranks it started, and every TensorFlow.js thread, at once and aborts `signal`, so the command
 * can report what it found and exit 130; a second ends the process at once.
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
  process.on("SIGINT", handler);
  process.on("SIGTERM", handler);
  return {
    signal: controller.signal,
    get received() {
      return received;
    },
    dispose() {
      process.removeListener("SIGINT", handler);
      process.removeListener("SIGTERM", handler);
    },
  };
}
