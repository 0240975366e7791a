import type { Dataset } from "../contract/probe.js";
import type { Scenario } from "../contract/scenario.js";
import { type RunProgress, TrainerError } from "../contract/trainer.js";
import {
  type Hello,
  HelloSchema,
  isProgressMessage,
  PROTOCOL_VERSION,
  ProgressMessageSchema,
  ResponseSchema,
  runProgress,
  type WorkerResponse,
} from "./protocol.js";
import { packFloat64Rows } from "./wire-trace.js";
import {
  WorkerBrokenError,
  type WorkerCommand,
  WorkerExitError,
  WorkerProcess,
} from "./worker-process.js";

/** What a worker says a trainer supports. */
export interface TrainerDescription {
  maxWorldSize: number;
  /** The step-semantics fields it honours; absent: every one. */
  stepFields?: string[];
}

/** How long an answer waits for the stderr the request printed before it (a stuck pipe: see stderrReadUpTo). */
const STDERR_SYNC_WAIT_MS = 2_000;

/** How long a starting worker may take to say hello (imports torch and friends). */
export const HANDSHAKE_TIMEOUT_MS = 120_000;

/** One run request, before it goes on the wire. */
export interface RunRequest {
  /** Worker-side trainer name, e.g. `docs-loop` or `my_module:train`. */
  trainer: string;
  scenario: Scenario;
  dataset: Dataset;
  initialParameters: number[];
  device: "cpu" | "cuda";
  record: boolean;
  /** Receives the worker's progress messages while the run trains; the request asks for them only with it. */
  onProgress?: (progress: RunProgress) => void;
}

/**
 * The dataset as a run request carries it: the features packed as float64, the labels plain and,
 * under token weighting, the token sequences as plain lists (`{inputIds, labels}`, one list per
 * sample: small integers are as short in JSON as packed).
 */
export function wireDataset(dataset: Dataset): Record<string, unknown> {
  return {
    features: packFloat64Rows(dataset.features),
    labels: dataset.labels,
    ...(dataset.tokens
      ? { tokens: { inputIds: dataset.tokens.inputIds, labels: dataset.tokens.labels } }
      : {}),
  };
}

function excerpt(line: string, max = 200): string {
  return JSON.stringify(line.length > max ? `${line.slice(0, max)}...` : line);
}

/**
 * The worker's program ended, or could not start, before the worker's hello: it is no interpreter
 * that runs the worker (`/bin/true`, a Python without torch).
 */
export class NotAWorkerError extends WorkerBrokenError {
  /** @param problem "/bin/true is not a working Python with torch: it exited with code 0 before the worker's hello". */
  constructor(readonly problem: string) {
    super(`worker: ${problem}`);
  }
}

/** Lines of a run's output kept for its error. */
const OUTPUT_LINES = 20;

/** Where the lines a trainer prints go, labelled with the trainer (`python:my_loop:train`). */
export type OutputSink = (trainer: string, line: string) => void;

/**
 * A long-lived worker speaking docs/protocol.md, serving run requests one at a time. A worker
 * that crashes, hangs or breaks the protocol is killed; the next request starts a fresh one.
 */
export class WorkerClient {
  private process: WorkerProcess | undefined;
  private greeting: Hello | undefined;
  private queue: Promise<unknown> = Promise.resolve();
  private nextId = 0;
  private queued = 0;
  /** Workers started so far (restarts included). */
  starts = 0;

  /** Receives every line a running trainer prints; none by default. */
  output: OutputSink | undefined;

  constructor(
    readonly command: WorkerCommand,
    private readonly handshakeTimeoutMs = HANDSHAKE_TIMEOUT_MS,
  ) {}

  /** Process id of the running worker, if one runs. */
  get pid(): number | undefined {
    return this.process?.dead === false ? this.process.pid : undefined;
  }

  /** The last worker's hello message, once one has started. */
  get hello(): Hello | undefined {
    return this.greeting;
  }

  /** Runs one request after those already queued; resolves to the trace as sent, not yet decoded. */
  run(request: RunRequest, timeoutMs: number): Promise<unknown> {
    return this.enqueue(async () => {
      const response = await this.exchange(
        {
          type: "run",
          trainer: request.trainer,
          scenario: request.scenario,
          dataset: wireDataset(request.dataset),
          initialParameters: request.initialParameters,
          device: request.device,
          encoding: "packed",
          record: request.record,
          timeoutMs,
          ...(request.onProgress ? { progress: true } : {}),
        },
        timeoutMs,
        "trace",
        request.onProgress,
      );
      return response.type === "trace" ? response.trace : undefined;
    });
  }

  /**
   * What a trainer supports, as the worker describes it: the largest world size it runs (1 for a
   * worker that does not know the request, an older protocol, or a trainer it cannot resolve) and
   * the step-semantics fields it honours (undefined: every one).
   */
  describe(trainer: string, timeoutMs = this.handshakeTimeoutMs): Promise<TrainerDescription> {
    return this.enqueue(async () => {
      try {
        const response = await this.exchange(
          { type: "describe", trainer },
          timeoutMs,
          "description",
        );
        if (response.type !== "description") return { maxWorldSize: 1 };
        return {
          maxWorldSize: response.maxWorldSize,
          ...(response.stepFields ? { stepFields: response.stepFields } : {}),
        };
      } catch (error) {
        if (error instanceof WorkerBrokenError) throw error;
        return { maxWorldSize: 1 };
      }
    });
  }

  /**
   * Resolves once a worker has started and said hello; rejects as a run would, with a
   * {@link NotAWorkerError} when the program ended (or could not start) before its hello.
   */
  ready(): Promise<void> {
    return this.enqueue(async () => {
      await this.started();
    });
  }

  /** Requests queued or running on this client. */
  get load(): number {
    return this.queued;
  }

  private enqueue<T>(work: () => Promise<T>): Promise<T> {
    this.queued++;
    const result = this.queue.then(work).finally(() => {
      this.queued--;
    });
    this.queue = result.catch(() => undefined);
    return result;
  }

  /** Shuts the worker down (it exits on its own); a later run starts a new one. */
  async dispose(): Promise<void> {
    await this.queue;
    const running = this.process;
    this.process = undefined;
    await running?.shutdown();
  }

  /**
   * Sends one request and reads its response of the expected type; an error response throws a
   * TrainerError. Progress messages before the response go to `onProgress` (dropped without it);
   * the response is still due within `timeoutMs` of the request.
   */
  private async exchange(
    message: Record<string, unknown>,
    timeoutMs: number,
    expected: "trace" | "description",
    onProgress?: (progress: RunProgress) => void,
  ): Promise<WorkerResponse> {
    const worker = await this.started();
    const label = typeof message.trainer === "string" ? `python:${message.trainer}` : "worker";
    const printed: string[] = [];
    worker.onStderrLine = (line) => {
      printed.push(line);
      if (printed.length > OUTPUT_LINES) printed.shift();
      this.output?.(label, line);
    };
    try {
      const id = ++this.nextId;
      const waitingFor = `response to ${message.type} ${id}`;
      const deadline = performance.now() + timeoutMs;
      worker.send({ ...message, id });
      let line = await worker.nextLine(timeoutMs, waitingFor);
      let parsed = this.parseLine(worker, line, `a ${expected} or error message`);
      while (isProgressMessage(parsed)) {
        const progress = this.readProgress(worker, parsed, id); // checked even when nobody listens
        onProgress?.(progress);
        line = await worker.nextLine(timeoutMs, waitingFor, deadline - performance.now());
        parsed = this.parseLine(worker, line, `a ${expected} or error message`);
      }
      // The answer came on the protocol pipe; what the request printed may still be on its way on stderr.
      await worker.stderrReadUpTo(id, STDERR_SYNC_WAIT_MS);
      const response = ResponseSchema.safeParse(parsed);
      if (!response.success)
        throw new WorkerBrokenError(
          `worker protocol: expected a ${expected} or error message, saw ${excerpt(line)}${worker.stderrSuffix()}`,
        );
      if (response.data.id !== id)
        throw new WorkerBrokenError(
          `worker protocol: expected the response to ${message.type} ${id}, saw id ${response.data.id}`,
        );
      if (response.data.type === "error")
        throw new TrainerError(`worker: ${response.data.message}`, {
          ...(response.data.traceback ? { traceback: response.data.traceback } : {}),
          ...(printed.length > 0 ? { output: [...printed] } : {}),
        });
      if (response.data.type !== expected)
        throw new WorkerBrokenError(
          `worker protocol: expected a ${expected} message, saw a ${response.data.type} message`,
        );
      return response.data;
    } catch (error) {
      if (error instanceof WorkerBrokenError || worker.dead) this.discard(worker);
      throw error;
    } finally {
      worker.onStderrLine = undefined;
    }
  }

  /** A progress message of request `id` as a {@link RunProgress}; any other is a protocol violation. */
  private readProgress(worker: WorkerProcess, value: unknown, id: number): RunProgress {
    const message = ProgressMessageSchema.safeParse(value);
    if (!message.success)
      throw new WorkerBrokenError(
        `worker protocol: expected a progress message (docs/protocol.md), saw ${excerpt(JSON.stringify(value))}${worker.stderrSuffix()}`,
      );
    if (message.data.id !== id)
      throw new WorkerBrokenError(
        `worker protocol: expected the progress of request ${id}, saw id ${message.data.id}`,
      );
    return runProgress(message.data);
  }

  private parseLine(worker: WorkerProcess, line: string, expected: string): unknown {
    try {
      return JSON.parse(line);
    } catch {
      throw new WorkerBrokenError(
        `worker protocol: expected ${expected} as one JSON line, saw ${excerpt(line)}${worker.stderrSuffix()}`,
      );
    }
  }

  private async started(): Promise<WorkerProcess> {
    if (this.process && !this.process.dead) return this.process;
    const worker = WorkerProcess.take(this.command);
    this.process = worker;
    this.starts += 1;
    try {
      const line = await worker.nextLine(this.handshakeTimeoutMs, "hello message");
      const hello = HelloSchema.safeParse(this.parseLine(worker, line, "a hello message"));
      if (!hello.success)
        throw new WorkerBrokenError(
          `worker handshake: expected a hello message, saw ${excerpt(line)}${worker.stderrSuffix()}`,
        );
      if (hello.data.protocol !== PROTOCOL_VERSION)
        throw new WorkerBrokenError(
          `worker handshake: expected protocol ${PROTOCOL_VERSION}, saw protocol ${hello.data.protocol}`,
        );
      this.greeting = hello.data;
      if (hello.data.stderrSync !== undefined) worker.useStderrSync(hello.data.stderrSync);
      return worker;
    } catch (error) {
      this.discard(worker);
      if (error instanceof WorkerExitError)
        throw new NotAWorkerError(
          `${this.command.command} is not a working Python with torch: ${error.ended.startsWith("exited") ? `it ${error.ended} before the worker's hello` : error.ended}${error.stderr}`,
        );
      throw error;
    }
  }

  private discard(worker: WorkerProcess): void {
    worker.kill();
    if (this.process === worker) this.process = undefined;
  }
}
