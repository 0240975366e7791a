import { execFileSync, spawn, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { auditTrainer } from "../properties/audit.js";
import { checkErrorMessage } from "../reports/sentences/index.js";
import { parseScenario } from "../trainers/contract/scenario.js";
import { createProtocolTrainer } from "../trainers/external/protocol-trainer.js";
import { WorkerClient } from "../trainers/external/worker-client.js";
import { alive, childrenOf, killAlive, waitFor, waitUntilGone } from "./support/processes.js";

// What ends the tool, and what a trainer does to the worker's standard descriptors, never leaves
// a process behind or a case hanging that the tool could have ended.

const root = join(import.meta.dirname, "..");
const bin = join(root, "dist", "cli", "main.js");
const fixture = (name: string) => `python:trainers.external.fixtures.${name}`;
const small = ["--dataset-size", "8", "--batch-size", "2", "--accumulation", "2"];

beforeAll(() => {
  execFileSync("npm", ["run", "build", "--silent"], { cwd: root, stdio: "pipe" });
});

function cli(...args: string[]) {
  const run = spawnSync(process.execPath, [bin, ...args], {
    cwd: root,
    encoding: "utf8",
    timeout: 120_000,
  });
  return { code: run.status, stdout: run.stdout, stderr: run.stderr };
}

/** The CLI started with `args` and `env` added, its output collected, and the code it closes with. */
function startCli(args: string[], env: Record<string, string> = {}) {
  const child = spawn(process.execPath, [bin, ...args], {
    cwd: root,
    env: { ...process.env, ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const output = { stdout: "", stderr: "" };
  child.stdout.on("data", (chunk) => {
    output.stdout += String(chunk);
  });
  child.stderr.on("data", (chunk) => {
    output.stderr += String(chunk);
  });
  const closed = new Promise<number | null>((resolve) => child.on("close", resolve));
  return { child, pid: child.pid ?? -1, output, closed };
}

describe("a trainer and the worker's standard descriptors", () => {
  it("a trainer that reads stdin meets its end at once: an error naming it, not the case's timeout", () => {
    const started = Date.now();
    const { code, stdout } = cli(
      ...["check", "--trainer", fixture("stdio_trainers:reads_stdin"), ...small],
      ...["--timeout", "60"],
    );
    expect(code).toBe(2);
    expect(stdout).toMatch(/error: .*EOFError: EOF when reading a line \(stdio_trainers\.py:\d+/);
    expect(Date.now() - started).toBeLessThan(50_000);
  });

  it("a trainer that writes to file descriptor 1 (os.write, sys.__stdout__, printf) still gets its verdict", () => {
    const { code, stdout, stderr } = cli(
      ...["check", "--trainer", fixture("stdio_trainers:writes_stdout"), ...small],
    );
    expect(stdout, stderr).toContain("PASS  python:trainers.external.fixtures.stdio_trainers");
    expect(code).toBe(0);
    expect(stderr).toContain("not json: raw bytes on file descriptor 1");
    expect(stderr).toContain("not json: a print to the original stdout");
  });
});

describe("the tool ended from outside while a trainer hangs", () => {
  it("SIGHUP (a closed terminal) stops the worker and both ranks, like SIGINT, and exits 130", async () => {
    const { child, pid, output, closed } = startCli([
      ...["check", "--trainer", fixture("faulty_ranks:sleep"), "--world-size", "2", ...small],
    ]);
    const ranks = await waitFor(() => childrenOf(pid).flatMap(childrenOf), 60_000, 2);
    const workers = childrenOf(pid);
    try {
      expect(ranks.length, output.stderr).toBe(2);
      child.kill("SIGHUP");
      expect(await closed).toBe(130);
      expect(output.stderr).toContain("interrupted by SIGHUP; every worker stopped");
      await waitUntilGone([...workers, ...ranks], 3_000);
      expect([...workers, ...ranks].filter(alive)).toEqual([]);
    } finally {
      killAlive([pid, ...workers, ...ranks]); // a failed test leaves nothing running
    }
  });

  it("SIGKILL of the tool: the worker notices that it is gone and ends within seconds", async () => {
    const dir = mkdtempSync(join(tmpdir(), "accumaudit-sigkill-"));
    const { child, pid, output, closed } = startCli(
      ["check", "--trainer", fixture("stdio_trainers:sleeps"), ...small],
      { ACCUMAUDIT_TEST_DIR: dir },
    );
    const started = await waitFor(() => (existsSync(join(dir, "started")) ? [true] : []), 60_000);
    const workers = childrenOf(pid);
    try {
      expect(started, output.stderr).toEqual([true]);
      expect(workers).toHaveLength(1);
      child.kill("SIGKILL");
      await closed;
      await waitUntilGone(workers, 5_000);
      expect(workers.filter(alive)).toEqual([]);
    } finally {
      killAlive([pid, ...workers]);
    }
  });

  it("SIGKILL of the tool during a run on 2 ranks: the worker and both ranks end within seconds", async () => {
    const { child, pid, output, closed } = startCli([
      ...["check", "--trainer", fixture("faulty_ranks:sleep"), "--world-size", "2", ...small],
    ]);
    const ranks = await waitFor(() => childrenOf(pid).flatMap(childrenOf), 60_000, 2);
    const workers = childrenOf(pid);
    try {
      expect(ranks.length, output.stderr).toBe(2);
      child.kill("SIGKILL");
      await closed;
      await waitUntilGone([...workers, ...ranks], 5_000);
      expect([...workers, ...ranks].filter(alive)).toEqual([]);
    } finally {
      killAlive([pid, ...workers, ...ranks]);
    }
  });
});

describe("timeouts the tool can keep", () => {
  it("a --timeout longer than Node's timers hold is refused in one line before anything runs", () => {
    const { code, stdout, stderr } = cli(
      ...["check", "--trainer", "python:reference", ...small, "--timeout", "3000000"],
    );
    expect(code).toBe(2);
    expect(stdout).toBe("");
    expect(stderr).toBe(
      "accumaudit: --timeout: expected a positive number of seconds up to 2147483 (about 24.8 days, the longest timer Node holds), saw 3000000\n",
    );
  });

  const fakeWorker = fileURLToPath(
    new URL("../trainers/external/fixtures/fake-worker.mjs", import.meta.url),
  );
  const client = new WorkerClient({ command: process.execPath, args: [fakeWorker] }, 10_000);
  afterAll(async () => {
    await client.dispose();
  });

  it("after a known counterexample timed out, the others are not run: each says which one timed out", async () => {
    const hang = createProtocolTrainer({
      name: "fake:hang",
      workerTrainer: "hang",
      description: "fake",
      client: () => client,
      timeoutMs: 1500,
    });
    const regressions = [
      parseScenario({ datasetSize: 110, batchSize: 8, accumulation: 4, epochs: 2 }),
      parseScenario({ datasetSize: 1000, batchSize: 128, accumulation: 4 }),
      parseScenario({ datasetSize: 6, batchSize: 2, accumulation: 2 }),
    ];
    const started = Date.now();
    const audit = await auditTrainer(hang, {
      runs: 2,
      seed: 1,
      space: { maxDatasetSize: 8 },
      regressions,
    });
    // One timeout for the known counterexamples and one for the search, not one per case.
    expect(Date.now() - started).toBeLessThan(4 * 1500);
    const messages = audit.regressions.map((r) =>
      r.verdict === "error" ? checkErrorMessage(r.error) : r.verdict,
    );
    expect(messages[0]).toMatch(/no response to run \d+ within 1.5 s \(the per-case --timeout\)/);
    for (const message of messages.slice(1))
      expect(message).toBe(
        "not run: the known counterexample 110/8/4 x2 timed out before it (no answer within 1.5 s, the per-case --timeout), and a hung trainer is waited for only once",
      );
    expect(audit.regressions.map((r) => r.scenario)).toEqual(regressions);
    expect(audit.search.kind).toBe("error");
    expect(audit.verdict).toBe("error");
  });
});
