/**
 * A thread of the TensorFlow.js thread pool (thread-pool.ts): runs the built-in trainer each
 * request names on its scenario and dataset, with the backend the request asks for (selected in
 * this thread's own TensorFlow.js), and posts the trace back, its number arrays transferred. The
 * pool posts one request at a time.
 */
import { parentPort } from "node:worker_threads";
import type { Trace } from "../contract/trace.js";
import { type RunProgress, TrainerError } from "../contract/trainer.js";
import { directTfjsTrainers } from "./built-in.js";
import { describeThrown, type RunReply, type RunRequest } from "./thread-messages.js";
import { packTrace } from "./thread-trace.js";

const port = parentPort;
if (port === null)
  throw new Error("thread-worker: expected to run in a worker thread, saw the main thread");
const trainers = new Map(directTfjsTrainers().map((trainer) => [trainer.name, trainer]));

async function run(request: RunRequest): Promise<Trace> {
  const trainer = trainers.get(request.trainer);
  if (trainer === undefined)
    throw new TrainerError(
      `thread: trainer: expected one of ${[...trainers.keys()].join(", ")}, saw ${JSON.stringify(request.trainer)}`,
    );
  const onProgress = (progress: RunProgress) => {
    const reply: RunReply = { id: request.id, kind: "progress", progress };
    port?.postMessage(reply);
  };
  return trainer.run(request.scenario, request.dataset, {
    ...request.options,
    ...(request.progress ? { onProgress } : {}),
  });
}

port.on("message", (request: RunRequest) => {
  run(request).then(
    (trace) => {
      const packed = packTrace(trace);
      const reply: RunReply = { id: request.id, kind: "trace", trace: packed };
      port.postMessage(reply, [packed.buffer]);
    },
    (error: unknown) => {
      const reply: RunReply = { id: request.id, kind: "error", thrown: describeThrown(error) };
      port.postMessage(reply);
    },
  );
});
