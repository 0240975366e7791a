import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { delimiter, join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { auditTrainer } from "../properties/audit.js";
import { runCheck } from "../properties/run-check.js";
import { checkErrorMessage, propertyMessage } from "../reports/sentences/index.js";
import { parseScenario } from "../trainers/contract/scenario.js";
import { pythonWorkerCommand } from "../trainers/external/interpreter.js";
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
  it("an applied NaN fails weighting at its step, a finding of the run", async () => {
    const check = await runCheck(
      fake("nan-wire"),
      parseScenario({ datasetSize: 4, batchSize: 2, accumulation: 1 }),
    );
    expect(check.verdict).toBe("fail");
    expect(check.verdict === "fail" && propertyMessage(check, "weighting")).toMatch(
      /^step 1 \(epoch 1\) applied a non-finite fingerprint weight \(entry 0: NaN\); expected finite numbers in every applied step/,
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

describe("a Python interpreter without the worker's dependencies", () => {
  it("names the missing package, the interpreter and the set-up command in one line", async () => {
    const shadow = mkdtempSync(join(tmpdir(), "accumaudit-no-jsonschema-"));
    mkdirSync(join(shadow, "jsonschema"));
    writeFileSync(
      join(shadow, "jsonschema", "__init__.py"),
      "raise ModuleNotFoundError(\"No module named 'jsonschema'\", name='jsonschema')\n",
    );
    const command = pythonWorkerCommand();
    const env = { ...command.env, PYTHONPATH: `${command.env?.PYTHONPATH}${delimiter}${shadow}` };
    const bare = new WorkerClient({ ...command, env }, 60_000);
    try {
      const check = await runCheck(
        createProtocolTrainer({
          name: "python:reference",
          workerTrainer: "reference",
          description: "reference",
          client: () => bare,
          timeoutMs: 60_000,
        }),
        parseScenario({ datasetSize: 4, batchSize: 2, accumulation: 1 }),
      );
      expect(check.verdict).toBe("error");
      const message = check.verdict === "error" ? checkErrorMessage(check.error) : "";
      expect(message).toMatch(
        /the worker needs the Python package 'jsonschema', missing for \S+; run `bash \S+scripts\/setup-python\.sh`$/,
      );
      expect(message).not.toMatch(/Traceback|\n/);
    } finally {
      await bare.dispose();
    }
  }, 90_000);
});
