import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { auditTrainer } from "../properties/audit.js";
import { runCheck } from "../properties/run-check.js";
import { parseScenario } from "../trainers/contract/scenario.js";
import { createProtocolTrainer } from "../trainers/external/protocol-trainer.js";
import { WorkerClient } from "../trainers/external/worker-client.js";
import { createTfjsTrainers } from "../trainers/tfjs/index.js";

const fakeWorker = fileURLToPath(
  new URL("../trainers/external/fixtures/fake-worker.mjs", import.meta.url),
);
const client = new WorkerClient({ command: process.execPath, args: [fakeWorker] }, 10_000);
const fake = (behaviour: string) =>
  createProtocolTrainer({
    name: `fake:${behaviour}`,
    workerTrainer: behaviour,
    description: "fake",
    client: () => client,
    timeoutMs: 1500,
  });

afterAll(async () => {
  await client.dispose();
});

describe("a broken external trainer in an audit", () => {
  it("an applied NaN is a clear error of the check, not a verdict on accumulation", async () => {
    const { result } = await runCheck(
      fake("nan-wire"),
      parseScenario({ datasetSize: 4, batchSize: 2, accumulation: 1 }),
    );
    expect(result.verdict).toBe("error");
    expect(result.error).toMatch(
      /^step 1 \(epoch 1\) applied a non-finite fingerprint weight \(entry 0: NaN\)/,
    );
  });

  it("crashing, hanging and garbage-printing workers each end as an error; the next trainer's audit is untouched", async () => {
    const audits = [];
    for (const trainer of [
      fake("crash"),
      fake("hang"),
      fake("garbage"),
      ...createTfjsTrainers().slice(-1),
    ])
      audits.push(
        (await auditTrainer(trainer, { runs: 3, seed: 1, space: { maxDatasetSize: 8 } })).audit,
      );
    expect(audits.map((a) => a.verdict)).toEqual(["error", "error", "error", "pass"]);
    expect(audits[0]?.counterexample?.result.error).toMatch(/exited with code 3/);
    expect(audits[1]?.counterexample?.result.error).toMatch(
      /no response to run \d+ within 1500 ms; worker killed/,
    );
    expect(audits[2]?.counterexample?.result.error).toMatch(/GPU available: False/);
  });
});
