import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { auditTrainer } from "../properties/audit.js";
import { runCheck } from "../properties/run-check.js";
import { checkErrorMessage } from "../reports/sentences/index.js";
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
    const check = await runCheck(
      fake("nan-wire"),
      parseScenario({ datasetSize: 4, batchSize: 2, accumulation: 1 }),
    );
    expect(check.verdict).toBe("error");
    expect(check.verdict === "error" && checkErrorMessage(check.error)).toMatch(
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
      audits.push(await auditTrainer(trainer, { runs: 3, seed: 1, space: { maxDatasetSize: 8 } }));
    expect(audits.map((a) => a.verdict)).toEqual(["error", "error", "error", "pass"]);
    const errors = audits.map((a) =>
      a.search.kind === "error" ? checkErrorMessage(a.search.check.error) : "",
    );
    expect(errors[0]).toMatch(/exited with code 3/);
    expect(errors[1]).toMatch(
      /no response to run \d+ within 1.5 s \(the per-case --timeout\); worker killed/,
    );
    expect(errors[2]).toMatch(/GPU available: False/);
  });
});
