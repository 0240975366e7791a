import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { Worker } from "node:worker_threads";
import type { Dataset } from "../contract/probe.js";
import type { Scenario } from "../contract/scenario.js";
import type { Trace } from "../contract/trace.js";
import {
  type Backend,
  type RunOptions,
  type RunProgress,
  type Trainer,
  TrainerError,
} from "../contract/trainer.js";
import { type RunReply, type RunRequest, thrownError } from "./thread-messages.js";
import { unpackTrace } from "./thread-trace.js";

/**
 * Backends whose runs go to threads. webgpu and tensorflow drive one device through a native
 * addon (Dawn, libtensorflow) that is not known to load in worker threads, and runs on one
 * device would not train in parallel anyway: with them the trainers stay in the main thread.
 */
export const THREADED_BACKENDS: readonly Backend[] = ["cpu", "wasm"];

/** A run a thread carries out: the request's id, its trainer, and who waits for the trace (and its progress). */
interface ThreadRun {
  id: number;
  trainer: string;
  resolve: (trace: Trace) => void;
  reject: (error: Error) => void;
  onProgress?: ((progress: RunProgress) => void) | undefined;
}

interface Thread {
  worker: Worker;
  run: ThreadRun | null;
  /** Terminated by the pool (dispose, interrupt, a smaller pool): not a death to explain. */
  stopped: boolean;
}

let poolSize = 1;
let nextId = 0;
const threads = new Set<Thread>();
/** Runs waiting for a thread while every thread is busy and the pool is full. */
const waiting: Array<() => void> = [];

/**
 * The module a thread runs: the compiled thread-worker.js beside this module (dist/). Run from
 * the TypeScript source (vitest), the module is thread-worker.ts, which Node 20 cannot load by
 * itself: the thread starts with a bootstrap that registers thread-source-hooks.mjs first. In a
 * bundle of the CLI (scripts/gpu-bundle.sh makes one file of it) neither is beside the bundle:
 * there is no thread, and the trainers run one case at a time in the main thread whatever the
 * pool size.
 */
const entry = ((): URL | undefined => {
  const fromSource = import.meta.url.endsWith(".ts");
  const worker = new URL(fromSource ? "./thread-worker.ts" : "./thread-worker.js", import.meta.url);
  if (worker.protocol !== "file:" || !existsSync(fileURLToPath(worker))) return undefined;
  if (!fromSource) return worker;
  const hooks = new URL("./thread-source-hooks.mjs", import.meta.url);
  const bootstrap = `import{register}from"node:module";register(${JSON.stringify(hooks.href)});await import(${JSON.stringify(worker.href)});`;
  return new URL(`data:text/javascript,${encodeURIComponent(bootstrap)}`);
})();

/**
 * How many TensorFlow.js threads the built-in trainers run cases on at once (default 1: no
 * thread, every run in the main thread as before). With more, each run of a built-in trainer goes
 * to an idle thread, a new one starting while fewer than `size` exist, so that concurrent runs
 * (an audit's `jobs`) train in parallel. Threads are meant for the backends of
 * {@link THREADED_BACKENDS}. Idle threads above a smaller size are stopped.
 */
export function setTfjsThreadPoolSize(size: number): void {
  if (!Number.isInteger(size) || size < 1)
    throw new RangeError(`thread pool size: expected a whole number of at least 1, saw ${size}`);
  poolSize = size;
  for (const thread of threads) if (thread.run === null && tooMany()) void stop(thread);
}

/** The current size of {@link setTfjsThreadPoolSize}. */
export function tfjsThreadPoolSize(): number {
  return poolSize;
}

/** Whether runs go to threads: a pool above 1 where the thread's module can be started. */
export function tfjsThreadsInUse(): boolean {
  return poolSize > 1 && entry !== undefined;
}

/** How many TensorFlow.js threads are alive. */
export function liveTfjsThreads(): number {
  return threads.size;
}

/**
 * Stops every TensorFlow.js thread (a run in one fails with a one-line error); later runs start
 * new ones. Called by the trainers' dispose and on Ctrl-C.
 */
export async function disposeTfjsThreads(): Promise<void> {
  const stopping = [...threads].map(stop);
  await Promise.all(stopping);
}

function tooMany(): boolean {
  return poolSize === 1 || threads.size > poolSize;
}

function stop(thread: Thread): Promise<number> {
  thread.stopped = true;
  threads.delete(thread);
  return thread.worker.terminate();
}

function startThread(module: URL): Thread {
  const worker = new Worker(module);
  const thread: Thread = { worker, run: null, stopped: false };
  const fail = (why: string) => {
    const run = thread.run;
    thread.run = null;
    run?.reject(new TrainerError(`${run.trainer}: TensorFlow.js thread ${why}`));
  };
  worker.on("message", (reply: RunReply) => {
    const run = thread.run;
    if (run === null || run.id !== reply.id) return;
    if (reply.kind === "progress") {
      run.onProgress?.(reply.progress);
      return;
    }
    thread.run = null;
    if (reply.kind === "trace") run.resolve(unpackTrace(reply.trace));
    else run.reject(thrownError(reply.thrown));
    release(thread);
  });
  worker.on("error", (error) => {
    threads.delete(thread);
    fail(`failed: ${error.message.split("\n")[0]}`);
  });
  worker.on("exit", (code) => {
    threads.delete(thread);
    fail(thread.stopped ? "stopped during the run" : `exited with code ${code} during the run`);
    waiting.shift()?.();
  });
  threads.add(thread);
  return thread;
}

/**
 * A thread for `run`, marked busy with it at once: an idle thread, a new one while the pool is
 * not full, or the next to be released.
 */
async function acquire(run: ThreadRun): Promise<Thread> {
  for (;;) {
    if (entry === undefined) throw new Error("thread pool: no thread module beside this one");
    const thread =
      [...threads].find((t) => t.run === null) ??
      (threads.size < poolSize ? startThread(entry) : undefined);
    if (thread) {
      thread.run = run;
      return thread;
    }
    await new Promise<void>((resolve) => waiting.push(resolve));
  }
}

function release(thread: Thread): void {
  // An idle thread does not keep Node alive; a busy one does, until its run replies.
  thread.worker.unref();
  if (tooMany()) void stop(thread);
  waiting.shift()?.();
}

/** Runs the built-in trainer named `trainer` on a thread of the pool and returns its trace. */
export async function runInThread(
  trainer: string,
  scenario: Scenario,
  dataset: Dataset,
  options: RunOptions = {},
): Promise<Trace> {
  const { onProgress, ...cloned } = options;
  const request: RunRequest = {
    id: nextId++,
    trainer,
    scenario,
    dataset,
    options: cloned,
    progress: onProgress !== undefined,
  };
  return new Promise<Trace>((resolve, reject) => {
    acquire({ id: request.id, trainer, resolve, reject, onProgress }).then((thread) => {
      thread.worker.ref();
      try {
        thread.worker.postMessage(request);
      } catch (error) {
        thread.run = null;
        release(thread);
        reject(error);
      }
    }, reject);
  });
}

/**
 * A built-in trainer that runs in the pool's threads while {@link tfjsThreadsInUse}, and in the
 * main thread otherwise: its concurrency is the pool size, its dispose stops the threads.
 */
export function threadedTrainer(trainer: Trainer): Trainer {
  return {
    ...trainer,
    run: (scenario, dataset, options) =>
      tfjsThreadsInUse()
        ? runInThread(trainer.name, scenario, dataset, options)
        : trainer.run(scenario, dataset, options),
    concurrency: () => (tfjsThreadsInUse() ? poolSize : 1),
    dispose: disposeTfjsThreads,
  };
}
