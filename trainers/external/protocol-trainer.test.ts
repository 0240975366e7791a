import { fileURLToPath } from "node:url";
import { afterEach, describe, expect, it } from "vitest";
import { makeDataset } from "../contract/probe.js";
import { parseScenario } from "../contract/scenario.js";
import { TrainerError } from "../contract/trainer.js";
import { createProtocolTrainer } from "./protocol-trainer.js";
import { WorkerClient } from "./worker-client.js";

const fakeWorker = fileURLToPath(new URL("./fixtures/fake-worker.mjs", import.meta.url));
const scenario = parseScenario({ datasetSize: 4, batchSize: 2, accumulation: 1 });
const dataset = makeDataset(scenario);

let client: WorkerClient;
function fakeTrainer(behaviour: string, env: Record<string, string> = {}) {
  client ??= new WorkerClient({ command: process.execPath, args: [fakeWorker], env }, 10_000);
  return createProtocolTrainer({
    name: `fake:${behaviour}`,
    workerTrainer: behaviour,
    description: "fake",
    client: () => client,
    timeoutMs: 1500,
  });
}

afterEach(async () => {
  await client?.dispose();
  client = undefined as unknown as WorkerClient;
});

async function failureThenRecovery(behaviour: string): Promise<string> {
  const error = await fakeTrainer(behaviour)
    .run(scenario, dataset)
    .then(
      () => undefined,
      (e: unknown) => e,
    );
  expect(error).toBeInstanceOf(TrainerError);
  const trace = await fakeTrainer("ok").run(scenario, dataset);
  expect(trace.steps[0]?.fingerprint.samples).toEqual([0]);
  return (error as Error).message;
}

describe("protocol trainer failure handling", () => {
  it("reports a crash with the exit status and stderr tail, then restarts", async () => {
    const message = await failureThenRecovery("crash");
    expect(message).toMatch(
      /^fake:crash: worker: exited with code 3; stderr: Traceback: simulated crash/,
    );
    expect(client.starts).toBe(2);
  });

  it("kills a hung worker after the timeout, then restarts", async () => {
    const message = await failureThenRecovery("hang");
    expect(message).toMatch(
      /no response to run 1 within 1.5 s \(the per-case --timeout\); worker killed/,
    );
    expect(client.starts).toBe(2);
  });

  it("rejects garbage on the protocol channel, then restarts", async () => {
    const message = await failureThenRecovery("garbage");
    expect(message).toContain('saw "GPU available: False, used: False"');
    expect(client.starts).toBe(2);
  });

  it("rejects a bare NaN token (invalid JSON) as a protocol violation", async () => {
    const message = await failureThenRecovery("nan");
    expect(message).toMatch(/worker protocol: expected a trace or error message as one JSON line/);
  });

  it("decodes NaN sent as a wire float into a number in the trace", async () => {
    const trace = await fakeTrainer("nan-wire").run(scenario, dataset);
    expect(trace.steps[0]?.fingerprint.weights[0]).toBeNaN();
  });

  it("keeps what a run printed before its answer although stderr brings it after the answer", async () => {
    const error = await fakeTrainer("late-print")
      .run(scenario, dataset)
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TrainerError);
    expect((error as TrainerError).detail.output).toEqual(["printed before the failure"]);
    expect(client.starts).toBe(1);
  });

  it("reports a worker error message and keeps the worker", async () => {
    const message = await failureThenRecovery("error");
    expect(message).toBe("fake:error: worker: ValueError: simulated failure");
    expect(client.starts).toBe(1);
  });

  it("rejects an invalid trace naming the field", async () => {
    const message = await failureThenRecovery("bad-trace");
    expect(message).toMatch(/^fake:bad-trace: worker sent an invalid trace: format:/);
  });

  it("refuses a worker speaking another protocol version", async () => {
    const error = await fakeTrainer("ok", { FAKE_PROTOCOL: "2" })
      .run(scenario, dataset)
      .catch((e: unknown) => e);
    expect((error as Error).message).toBe(
      "fake:ok: worker handshake: expected protocol 1, saw protocol 2",
    );
  });

  it("hands the progress messages before the trace to onProgress, asking for them only with one", async () => {
    const seen: unknown[] = [];
    const trace = await fakeTrainer("progress").run(scenario, dataset, {
      onProgress: (progress) => seen.push(progress),
    });
    expect(trace.trainer.frameworkVersion).toBe("asked");
    const at = { sampling: "epochs", epochs: 2, microBatches: 2, steps: 0 };
    expect(seen).toEqual([
      { ...at, epoch: 0, microBatch: 1 },
      { ...at, epoch: 1, microBatch: 2 },
    ]);
    const unasked = await fakeTrainer("progress").run(scenario, dataset);
    expect(unasked.trainer.frameworkVersion).toBe("not asked");
    expect(client.starts).toBe(1);
  });

  it("still ends a run that sends progress but no answer at its timeout", async () => {
    const seen: number[] = [];
    const started = performance.now();
    const error = await fakeTrainer("progress-hang")
      .run(scenario, dataset, { onProgress: (progress) => seen.push(progress.microBatch) })
      .catch((e: unknown) => e);
    expect((error as Error).message).toMatch(
      /no response to run 1 within 1.5 s \(the per-case --timeout\); worker killed/,
    );
    expect(performance.now() - started).toBeLessThan(3000);
    expect(seen.length).toBeGreaterThan(2);
  });

  it("rejects a malformed progress message as a protocol violation, then restarts", async () => {
    const message = await failureThenRecovery("bad-progress");
    expect(message).toMatch(
      /^fake:bad-progress: worker protocol: expected a progress message \(docs\/protocol.md\), saw /,
    );
    expect(client.starts).toBe(2);
  });

  it("serves queued runs one at a time on one worker", async () => {
    const trainer = fakeTrainer("ok");
    const traces = await Promise.all([1, 2, 3].map(() => trainer.run(scenario, dataset)));
    expect(traces).toHaveLength(3);
    expect(client.starts).toBe(1);
    expect(trainer.info?.()).toEqual({
      name: "python:fake",
      framework: "fake",
      frameworkVersion: "0",
    });
  });
});
