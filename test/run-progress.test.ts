/**
 * A long case says how long: a Python trainer's run (trainers/python/tests/slow_trainers.py, 1 ms
 * per micro-batch) tells the progress line, through the real worker, which epoch and micro-batch
 * it has reached, and the line estimates the time left. Off a terminal, and with --json, nothing
 * new is printed.
 */
import { spawnSync } from "node:child_process";
import { delimiter, join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import type { AuditProgress, CaseProgress } from "../properties/audit.js";
import { caseRunOptions } from "../properties/progress.js";
import { runCheck } from "../properties/run-check.js";
import { ProgressLine } from "../reports/progress.js";
import { combineReporters } from "../reports/reporter.js";
import { parseScenario } from "../trainers/contract/scenario.js";
import { createPythonTrainer, disposePythonWorkers } from "../trainers/external/index.js";

const root = join(import.meta.dirname, "..");
// The slow trainers are importable as slow_trainers:FUNCTION, as a user's module would be.
const trainers = join(root, "trainers", "python", "tests");
process.env.PYTHONPATH = [trainers, process.env.PYTHONPATH].filter(Boolean).join(delimiter);

const TRAINER = "python:slow_trainers:sleepy_reference";
/** 4,000 micro-batches of at least 1 ms each: a case of several seconds. */
const SCENARIO = { datasetSize: 2000, batchSize: 1, accumulation: 4, epochs: 2 } as const;

afterAll(async () => {
  await disposePythonWorkers();
});

function stream(isTTY: boolean) {
  const written: string[] = [];
  const fake = { isTTY, columns: 0, write: (text: string) => written.push(text) > 0 };
  return { stream: fake as unknown as NodeJS.WriteStream, written };
}

describe("a long Python case on the progress line", () => {
  it("shows the epoch and micro-batch reached and the time left, on a terminal only", async () => {
    const terminal = stream(true);
    const pipe = stream(false);
    const json = stream(true);
    const reporter = combineReporters([
      new ProgressLine(true, terminal.stream),
      new ProgressLine(true, pipe.stream),
      new ProgressLine(false, json.stream), // --json
    ]);
    const reports: CaseProgress[] = [];
    const progress = { trainer: TRAINER, phase: "check", cases: 1, runs: 1 } as const;
    const started: AuditProgress = { ...progress, state: "started" };
    reporter.onProgress(started);
    const check = await runCheck(
      createPythonTrainer(TRAINER, { timeoutMs: 120_000 }),
      parseScenario(SCENARIO),
      caseRunOptions(undefined, progress, (p) => {
        reports.push(p);
        reporter.onCaseProgress(p);
      }),
    );
    await reporter.onCheckEnd(check);
    expect(check.verdict).toBe("pass");

    expect(reports.length).toBeGreaterThanOrEqual(4);
    expect(reports[0]?.run).toEqual({
      sampling: "epochs",
      epoch: 0,
      epochs: 2,
      microBatch: 1,
      microBatches: 2000,
      steps: 0,
    });
    const done = reports.map(({ run }) =>
      run.sampling === "epochs" ? run.epoch * run.microBatches + run.microBatch : -1,
    );
    expect(done).toEqual([...done].sort((a, b) => a - b));
    expect(done.at(-1)).toBeGreaterThan(2000);

    const lines = terminal.written.join("").split("\r\x1b[2K");
    const position =
      /^python:slow_trainers:sleepy_reference: checking, epoch [12]\/2, micro-batch [\d,]+\/2,000, \d+:\d\d elapsed(, about \d+:\d\d left|, finishing)?$/;
    const positions = lines.filter((line) => line.includes("micro-batch"));
    expect(positions.length).toBeGreaterThan(0);
    for (const line of positions) expect(line).toMatch(position);
    expect(positions.some((line) => line.includes(" left"))).toBe(true);
    expect(lines.at(-1)).toBe(""); // cleared when the check ends
    expect([...pipe.written, ...json.written]).toEqual([]);
  }, 120_000);
});

/** The command line from the TypeScript source, stderr seen as a terminal by the tool (or a pipe). */
function cli(args: string[], terminal: boolean) {
  const hooks = new URL("../trainers/tfjs/thread-source-hooks.mjs", import.meta.url).href;
  const register = `import{register}from"node:module";register(${JSON.stringify(hooks)});`;
  const tty =
    'for(const k of ["isTTY","columns"])Object.defineProperty(process.stderr,k,{value:k==="isTTY"||200});';
  const imports = [register, ...(terminal ? [tty] : [])].flatMap((code) => [
    "--import",
    `data:text/javascript,${encodeURIComponent(code)}`,
  ]);
  return spawnSync(process.execPath, [...imports, join(root, "cli", "main.ts"), ...args], {
    encoding: "utf8",
    timeout: 120_000,
    env: { ...process.env, NO_COLOR: "1" },
  });
}

describe("the command line", () => {
  const check = [
    "check",
    "--trainer",
    TRAINER,
    ...Object.entries(SCENARIO).flatMap(([field, value]) => [
      `--${field.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`,
      String(value),
    ]),
  ];

  it("gives a long check's epoch and micro-batch on a terminal, and nothing new with --json", () => {
    const text = cli(check, true);
    expect(text.status, text.stderr).toBe(0);
    expect(text.stderr).toMatch(
      /checking, epoch 2\/2, micro-batch [\d,]+\/2,000, \d+:\d\d elapsed/,
    );
    const json = cli([...check, "--json"], true);
    expect(json.status, json.stderr).toBe(0);
    expect(JSON.parse(json.stdout).verdict).toBe("pass");
    expect(json.stderr).not.toMatch(/micro-batch|elapsed|\r/);
  }, 240_000);
});
