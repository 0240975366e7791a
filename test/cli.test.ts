import { execFileSync, spawn, spawnSync } from "node:child_process";
import {
  chmodSync,
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parse as parseJunit } from "junit2json";
import { describe, expect, it } from "vitest";
import type { checkJson, trainerAuditJson } from "../reports/json.js";
import { locatePython } from "../trainers/external/interpreter.js";
import { alive, childrenOf, killAlive, waitFor, waitUntilGone } from "./support/processes.js";

type CheckResult = ReturnType<typeof checkJson>;
type AuditResult = {
  schemaVersion: number;
  weighting: string;
  trainers: Array<ReturnType<typeof trainerAuditJson>>;
};

const root = join(import.meta.dirname, "..");
const bin = join(root, "dist", "cli", "main.js");

/** The CLI started with `args`, its output collected as it comes and the exit code it closes with. */
function startCli(args: string[]) {
  const child = spawn(process.execPath, [bin, ...args], {
    cwd: root,
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
  return { child, output, closed };
}

function cli(...args: string[]) {
  const run = spawnSync(process.execPath, [bin, ...args], {
    cwd: root,
    encoding: "utf8",
    timeout: 120_000,
  });
  return { code: run.status, stdout: run.stdout, stderr: run.stderr };
}

describe("accumaudit CLI", () => {
  it("list shows the built-in and the Python trainers", () => {
    const { code, stdout } = cli("list");
    expect(code).toBe(0);
    for (const name of [
      "docs-loop",
      "tail-step",
      "two-loop",
      "k-plus-one",
      "reference",
      "python:lightning",
      "python:hf-trainer-items",
    ])
      expect(stdout).toContain(name);
  });

  it("check --json: two-loop fails weighting on 1000/128/4 with exit code 1", () => {
    const { code, stdout } = cli(
      "check",
      "--trainer",
      "two-loop",
      "--dataset-size",
      "1000",
      "--batch-size",
      "128",
      "--accumulation",
      "4",
      "--json",
    );
    expect(code).toBe(1);
    const result = JSON.parse(stdout) as CheckResult;
    expect(result).toMatchObject({
      trainer: "two-loop",
      verdict: "fail",
      scenario: { datasetSize: 1000 },
    });
    expect(result.properties?.weighting.ok).toBe(false);
    expect(result.properties?.weighting.maxRelError).toBeCloseTo(0.1731, 3);
    expect(result.properties?.weighting.tolerance).toBe(1e-4);
    expect(result.properties?.coverage.ok).toBe(true);
    expect(result.properties?.windowing.ok).toBe(true);
    expect("advice" in result && result.advice.map((a) => a.id)).toEqual(["micro-batch-mean"]);
  });

  it("check: reference passes 110/8/4 over 2 epochs with exit code 0", () => {
    const { code, stdout } = cli(
      "check",
      "--trainer",
      "reference",
      "--dataset-size",
      "110",
      "--batch-size",
      "8",
      "--accumulation",
      "4",
      "--epochs",
      "2",
      "--model",
      "mlp",
    );
    expect(code).toBe(0);
    expect(stdout).toMatch(/^PASS {2}reference/);
  });

  it.each([
    [
      ["--dataset-size", "0", "--batch-size", "8", "--accumulation", "4"],
      "--dataset-size: expected at least 1, saw 0",
    ],
    [
      ["--dataset-size", "10", "--batch-size", "-1", "--accumulation", "4"],
      "--batch-size: expected at least 1, saw -1",
    ],
    [
      ["--dataset-size", "10", "--batch-size", "2", "--accumulation", "1.5"],
      "--accumulation: expected a whole number, saw 1.5",
    ],
    [
      ["--dataset-size", "ten", "--batch-size", "2", "--accumulation", "1"],
      '--dataset-size: expected a whole number, saw "ten"',
    ],
    [
      ["--dataset-size", "1e3", "--batch-size", "2", "--accumulation", "1"],
      '--dataset-size: expected a whole number, saw "1e3"',
    ],
    [["--dataset-size", "10", "--batch-size", "2"], "--accumulation: required"],
    [
      ["--dataset-size", "10", "--batch-size", "2", "--accumulation", "2", "--precision", "fp8"],
      '--precision: expected one of fp32, fp16, bf16, saw "fp8"',
    ],
    [
      ["--dataset-size", "10", "--batch-size", "2", "--accumulation", "2", "--backend", "tpu"],
      "--backend: expected one of cpu, wasm, webgpu, tensorflow",
    ],
  ])("check %j is a usage error: one line, exit code 2", (flags, message) => {
    const { code, stdout, stderr } = cli("check", "--trainer", "reference", ...flags);
    expect(code).toBe(2);
    expect(stdout).toBe("");
    expect(stderr).toContain(message);
    expect(stderr.trim().split("\n")).toHaveLength(1);
  });

  it.each([
    [["audit", "--path", "1:2"], "--path: replays a search only together with its --seed"],
    [["audit", "--runs", "1e3"], '--runs: expected a whole number, saw "1e3"'],
    [["audit", "--seed", "0x10"], '--seed: expected a whole number, saw "0x10"'],
    [["audit", "--colour"], "--colour: unknown flag (see --help)"],
    [
      ["audit", "--trainer", "python:reference", "--backend", "wasm"],
      "--backend: applies to the built-in TensorFlow.js trainers",
    ],
    [
      ["audit", "--trainer", "reference", "--python", "/usr/bin/python3"],
      "--python: applies to python: trainers",
    ],
    [
      [
        "check",
        "--trainer",
        "reference",
        "--dataset-size",
        "4",
        "--batch-size",
        "2",
        "--accumulation",
        "2",
        "--dataset-size",
        "5",
      ],
      "--dataset-size: expected once, saw it twice",
    ],
    [
      [
        "check",
        "--trainer",
        "reference",
        "--dataset-size",
        "--batch-size",
        "2",
        "--accumulation",
        "2",
      ],
      "--dataset-size: expected a value, saw none",
    ],
    [
      [
        "check",
        "--trainer",
        "reference",
        "--dataset-size",
        "4",
        "--batch-size",
        "2",
        "--accumulation",
        "2",
        "--learning-rate",
        "0",
      ],
      "--learning-rate: expected a number above 0, saw 0",
    ],
    [
      [
        "check",
        "--trainer",
        "reference",
        "--dataset-size",
        "4",
        "--batch-size",
        "2",
        "--accumulation",
        "2",
        "--report",
        "",
      ],
      "--report: expected a file path, saw nothing",
    ],
    [
      [
        "check",
        "--trainer",
        "reference",
        "--dataset-size",
        "4",
        "--batch-size",
        "2",
        "--accumulation",
        "2",
        "stray",
      ],
      "stray: expected a flag, saw a bare argument",
    ],
    [
      ["audit", "--trainer", "reference", "--model", "causal-lm"],
      "--model causal-lm: expected a model that samples weighting trains (fingerprint, logistic, mlp); add --weighting tokens",
    ],
    [
      ["audit", "--trainer", "reference", "--weighting", "words"],
      '--weighting: expected one of samples, tokens, saw "words"',
    ],
  ])("%j is a usage error naming the flag, before any training", (args, message) => {
    const { code, stdout, stderr } = cli(...args);
    expect(code).toBe(2);
    expect(stdout).toBe("");
    expect(stderr).toMatch(/^accumaudit: /);
    expect(stderr).toContain(message);
    expect(stderr.trim().split("\n")).toHaveLength(1);
  });

  it("a --report path no file can take fails before any training", () => {
    const folder = mkdtempSync(join(tmpdir(), "accumaudit-cli-"));
    const asFolder = cli("audit", "--report", folder);
    expect(asFolder.code).toBe(2);
    expect(asFolder.stderr).toContain(`--report: expected a file path, saw the folder ${folder}`);
    const file = join(folder, "a-file");
    writeFileSync(file, "");
    const belowFile = cli(
      "check",
      "--trainer",
      "reference",
      "--dataset-size",
      "4",
      "--batch-size",
      "2",
      "--accumulation",
      "2",
      "--report",
      join(file, "r.html"),
    );
    expect(belowFile.code).toBe(2);
    expect(belowFile.stdout).toBe("");
    expect(belowFile.stderr).toContain("--report: expected a path below a folder");
  });

  describe("output files", () => {
    const scenario = [
      "check",
      "--trainer",
      "reference",
      "--dataset-size",
      "4",
      "--batch-size",
      "2",
      "--accumulation",
      "2",
    ];

    it.each([
      ["a missing folder", (folder: string) => join(folder, "missing", "r.html"), "--report"],
      ["a path ending in /", (folder: string) => `${join(folder, "new")}/`, "--junit"],
      ["a folder", (folder: string) => folder, "--report"],
      ["a path below a file", (folder: string) => join(folder, "a-file", "r.xml"), "--junit"],
    ])("%s is one usage line naming the flag and the path, before any run", (_, pathIn, flag) => {
      const folder = mkdtempSync(join(tmpdir(), "accumaudit-cli-"));
      writeFileSync(join(folder, "a-file"), "");
      const path = pathIn(folder);
      const run = cli(...scenario, flag, path);
      const { stderr } = run;
      expect(run).toMatchObject({ code: 2, stdout: "" });
      expect(stderr.startsWith(`accumaudit: ${flag}: expected `)).toBe(true);
      expect(stderr).toContain(path);
      expect(stderr.trim().split("\n")).toHaveLength(1);
      expect(readdirSync(folder)).toEqual(["a-file"]);
    });

    it("one file for --report and --junit, by any spelling, is a usage error before any run", () => {
      const folder = mkdtempSync(join(tmpdir(), "accumaudit-cli-"));
      const file = join(folder, "out");
      symlinkSync("out", join(folder, "link"));
      for (const other of [file, join(folder, ".", "out"), join(folder, "link")]) {
        const run = cli(...scenario, "--report", file, "--junit", other);
        const { stderr } = run;
        expect(run).toMatchObject({ code: 2, stdout: "" });
        expect(stderr).toMatch(/^accumaudit: --report and --junit: expected two different files/);
        expect(stderr.trim().split("\n")).toHaveLength(1);
      }
      expect(readdirSync(folder)).toEqual(["link"]);
    });

    it("a symbolic link as --report keeps its link; its target gets the report", () => {
      const folder = mkdtempSync(join(tmpdir(), "accumaudit-cli-"));
      mkdirSync(join(folder, "runs"));
      writeFileSync(join(folder, "runs", "report.html"), "old");
      const link = join(folder, "latest.html");
      symlinkSync(join("runs", "report.html"), link);
      const run = cli(...scenario, "--report", link);
      const { stderr } = run;
      expect(run).toMatchObject({ code: 0 });
      expect(stderr).toContain(`report: ${link} (`);
      expect(lstatSync(link).isSymbolicLink()).toBe(true);
      expect(readFileSync(join(folder, "runs", "report.html"), "utf8")).toMatch(
        /^<!doctype html>/i,
      );
      expect(readdirSync(join(folder, "runs"))).toEqual(["report.html"]);
    });

    it("a FIFO as --junit gets the XML and stays a FIFO", async () => {
      const folder = mkdtempSync(join(tmpdir(), "accumaudit-cli-"));
      const fifo = join(folder, "junit.fifo");
      execFileSync("mkfifo", [fifo]);
      // The reader is a process of its own, so that a run that never writes cannot hang the test.
      const reader = spawn("cat", [fifo], { stdio: ["ignore", "pipe", "inherit"] });
      let received = "";
      reader.stdout.on("data", (chunk) => {
        received += String(chunk);
      });
      const read = new Promise((resolve) => reader.on("close", resolve));
      try {
        const { output, closed } = startCli([...scenario, "--junit", fifo]);
        expect({ code: await closed, ...output }).toMatchObject({ code: 0 });
        expect(lstatSync(fifo).isFIFO()).toBe(true);
        await read;
        const parsed = await parseJunit(received);
        const suites = parsed && "testsuite" in parsed ? (parsed.testsuite ?? []) : [];
        expect(suites[0]?.testcase).toHaveLength(3);
        expect(output.stderr).toContain(`junit: ${fifo} (`);
        expect(readdirSync(folder)).toEqual(["junit.fifo"]);
      } finally {
        reader.kill();
      }
    });
  });

  it("an unknown trainer or flag is a usage error", () => {
    const unknown = cli(
      "check",
      "--trainer",
      "nope",
      "--dataset-size",
      "4",
      "--batch-size",
      "2",
      "--accumulation",
      "2",
    );
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('--trainer: unknown trainer "nope"');
    const flag = cli("audit", "--colour");
    expect(flag.code).toBe(2);
    expect(flag.stderr.trim().split("\n")).toHaveLength(1);
  });

  it("audit --json finds a counterexample whose replay command fails the same way; --report writes HTML", () => {
    const report = join(mkdtempSync(join(tmpdir(), "accumaudit-cli-")), "report.html");
    const { code, stdout } = cli(
      "audit",
      "--trainer",
      "docs-loop",
      "--trainer",
      "reference",
      "--runs",
      "30",
      "--seed",
      "3",
      "--json",
      "--report",
      report,
    );
    expect(code).toBe(1);
    const audit = JSON.parse(stdout) as AuditResult;
    expect(audit.trainers.map((t) => [t.trainer, t.verdict])).toEqual([
      ["docs-loop", "fail"],
      ["reference", "pass"],
    ]);
    expect(audit.weighting).toBe("samples");
    expect(audit.trainers[0]?.counterexample?.result.weighting).toBe("samples");
    const replay = audit.trainers[0]?.counterexample?.replay ?? "";
    // As the user typed it, from the same folder (test/replay-commands.test.ts runs it through sh).
    expect(replay).toMatch(/^node dist\/cli\/main\.js check --trainer docs-loop /);
    const again = cli(...replay.split(" ").slice(2), "--json");
    expect(again.code).toBe(1);
    expect((JSON.parse(again.stdout) as CheckResult).properties?.coverage.ok).toBe(false);
    expect(existsSync(report)).toBe(true);
    expect(readFileSync(report, "utf8")).toMatch(/^<!doctype html>/i);
  });

  it("audit --junit writes a file a JUnit parser reads: a suite per trainer, a failing testcase per refuted property", async () => {
    const junit = join(mkdtempSync(join(tmpdir(), "accumaudit-cli-")), "audit.xml");
    const { code, stdout, stderr } = cli(
      "audit",
      "--trainer",
      "docs-loop",
      "--trainer",
      "reference",
      "--trainer",
      "docs-loop",
      "--runs",
      "30",
      "--seed",
      "3",
      "--json",
      "--junit",
      junit,
    );
    expect(code).toBe(1);
    expect(stderr).toMatch(/^junit: .*audit\.xml \(\d+ bytes\)$/m);
    const audit = JSON.parse(stdout) as AuditResult;
    expect(audit.schemaVersion).toBe(1);
    const parsed = await parseJunit(readFileSync(junit, "utf8"));
    const suites = parsed && "testsuite" in parsed ? (parsed.testsuite ?? []) : [];
    expect(suites.map((s) => s.name)).toEqual(["docs-loop", "reference", "docs-loop"]);
    audit.trainers.forEach((trainer, k) => {
      const cases = suites[k]?.testcase ?? [];
      // The refuted properties of the counterexample and of each regression scenario, as messages.
      const results = [
        ...(trainer.counterexample ? [trainer.counterexample.result] : []),
        ...trainer.regressions,
      ];
      const refuted = results.flatMap((r) =>
        r.properties ? Object.values(r.properties).flatMap((p) => (p.ok ? [] : [p.message])) : [],
      );
      const failures = cases.flatMap((c) => c.failure ?? []);
      expect(failures.map((f) => f.message)).toEqual(refuted);
      expect(cases.flatMap((c) => c.error ?? [])).toEqual([]);
      // Three properties per scenario: the counterexample's (or the search's), and two regressions'.
      expect(cases).toHaveLength(9);
      if (trainer.counterexample) {
        const first = failures[0];
        expect(first?.inner).toContain(`replay: ${trainer.counterexample.replay}`);
        expect(first?.inner).toContain(`--seed 3 --path ${trainer.counterexample.path}`);
      }
    });
    expect(suites[1]?.failures).toBe(0);
    expect(suites[0]?.failures).toBeGreaterThan(0);
  });

  it("check --junit writes one testcase per property, and an errored one when the trainer cannot run", async () => {
    const folder = mkdtempSync(join(tmpdir(), "accumaudit-cli-"));
    const scenario = ["--dataset-size", "1000", "--batch-size", "128", "--accumulation", "4"];
    const failing = cli(
      "check",
      "--trainer",
      "two-loop",
      ...scenario,
      "--junit",
      join(folder, "a.xml"),
    );
    expect(failing.code).toBe(1);
    const parsed = await parseJunit(readFileSync(join(folder, "a.xml"), "utf8"));
    const suite = parsed && "testsuite" in parsed ? parsed.testsuite?.[0] : undefined;
    expect(suite?.testcase?.map((c) => [c.name, c.failure ? "failure" : "pass"])).toEqual([
      ["coverage on N 1000 · B 128 · K 4 · 1 epoch", "pass"],
      ["weighting on N 1000 · B 128 · K 4 · 1 epoch", "failure"],
      ["windowing on N 1000 · B 128 · K 4 · 1 epoch", "pass"],
    ]);
    const broken = cli(
      "check",
      "--trainer",
      "python:no_such_module:train",
      ...scenario,
      "--junit",
      join(folder, "b.xml"),
    );
    expect(broken.code).toBe(2);
    const errored = await parseJunit(readFileSync(join(folder, "b.xml"), "utf8"));
    const cases = errored && "testsuite" in errored ? errored.testsuite?.[0]?.testcase : undefined;
    expect(cases).toHaveLength(1);
    expect(cases?.[0]?.error?.[0]?.message).toMatch(/cannot import module no_such_module/);
  });

  it("check --weighting tokens: text, JSON, JUnit and HTML name the weighting and each sample's loss tokens; the replay carries them", async () => {
    const folder = mkdtempSync(join(tmpdir(), "accumaudit-cli-"));
    const scenario = [
      "--trainer",
      "docs-loop",
      "--dataset-size",
      "2",
      "--batch-size",
      "1",
      "--accumulation",
      "2",
      "--weighting",
      "tokens",
      "--lengths",
      "1,2",
    ];
    const text = cli("check", ...scenario, "--junit", join(folder, "c.xml"));
    expect(text.stdout).toMatch(/^FAIL {2}docs-loop .*· weighting tokens · loss tokens 1,2\n/);
    expect(text.stdout.split("\n")[1]).toBe(
      "  weighting: loss tokens (each loss token counts the same); loss tokens per sample: 1, 2",
    );
    expect(text.stdout).toContain("token weighting gives it 1/3 (1 of its window's 3 loss tokens)");
    expect(text.stdout).toContain(
      "micro-batch 1 holds 1 sample with 1 loss token, micro-batch 2 holds 1 sample with 2 loss tokens",
    );
    const json = cli("check", ...scenario, "--json", "--report", join(folder, "c.html"));
    const result = JSON.parse(json.stdout) as CheckResult;
    expect(result).toMatchObject({
      weighting: "tokens",
      lossTokens: [1, 2],
      scenario: { weighting: "tokens", lengths: [1, 2] },
    });
    const html = readFileSync(join(folder, "c.html"), "utf8");
    expect(html).toContain("Loss tokens per sample, from sample 0: 1, 2 (3 loss tokens in all).");
    expect(html).toContain(
      "<dt>Weighting</dt><dd>loss tokens (each loss token counts the same)</dd>",
    );
    const parsed = await parseJunit(readFileSync(join(folder, "c.xml"), "utf8"));
    const suite = parsed && "testsuite" in parsed ? parsed.testsuite?.[0] : undefined;
    expect(suite?.properties).toContainEqual({
      name: "weighting",
      value: "loss tokens (each loss token counts the same)",
    });
    const failure = suite?.testcase?.flatMap((c) => c.failure ?? [])[0];
    expect(failure?.inner).toContain(
      "replay: node dist/cli/main.js check --trainer docs-loop --dataset-size 2 --batch-size 1 --accumulation 2 --weighting tokens --lengths 1,2",
    );
  });

  it("stops quietly when its reader closes the pipe early (accumaudit audit | head -1)", async () => {
    const child = spawn(
      process.execPath,
      [
        bin,
        "audit",
        "--trainer",
        "reference",
        "--trainer",
        "docs-loop",
        "--runs",
        "20",
        "--seed",
        "1",
      ],
      {
        cwd: root,
        stdio: ["ignore", "pipe", "pipe"],
      },
    );
    let stderr = "";
    child.stderr.on("data", (chunk) => {
      stderr += String(chunk);
    });
    child.stdout.once("data", () => child.stdout.destroy());
    const code = await new Promise<number | null>((resolve) => child.on("close", resolve));
    expect(stderr).not.toMatch(/EPIPE|Unhandled/);
    expect(code).not.toBeNull();
  });

  it("SIGINT stops an audit of a built-in trainer run in the main thread (--jobs 1) between two cases", async () => {
    const { child, output, closed } = startCli([
      "audit",
      "--trainer",
      "reference",
      "--runs",
      "1000000",
      "--seed",
      "1",
      "--jobs",
      "1",
      "--json",
    ]);
    try {
      // Well into the search (a million cases of the reference take about an hour at 300 cases/s):
      // no progress line shows off a terminal, so the test waits.
      await new Promise((resolve) => setTimeout(resolve, 10_000));
      child.kill("SIGINT");
      expect(await closed, output.stderr).toBe(130);
      const audit = JSON.parse(output.stdout) as {
        interrupted?: { signal: string; completed: number };
      };
      expect(audit.interrupted).toMatchObject({ signal: "SIGINT", completed: 0 });
    } catch (error) {
      killAlive([child.pid ?? -1]);
      throw error;
    }
  });

  it.each(["SIGINT", "SIGTERM"] as const)(
    "%s to the accumaudit process alone stops its worker and every rank, writes what it found marked interrupted, and exits 130",
    async (signal) => {
      const report = join(mkdtempSync(join(tmpdir(), "accumaudit-cli-")), "interrupted.html");
      const { child, output, closed } = startCli([
        "audit",
        "--trainer",
        "python:trainers.external.fixtures.faulty_ranks:sleep",
        "--trainer",
        "reference",
        "--world-size",
        "2",
        "--json",
        "--report",
        report,
      ]);
      const pid = child.pid ?? -1;
      // Both ranks, forked one after the other by whichever worker of the pool (--jobs) runs the case.
      const ranks = await waitFor(() => childrenOf(pid).flatMap(childrenOf), 60_000, 2);
      const workers = childrenOf(pid);
      try {
        expect(ranks.length, output.stderr).toBeGreaterThanOrEqual(2);
        child.kill(signal);
        expect(await closed).toBe(130);
        expect(output.stderr).toContain(`interrupted by ${signal}; every worker stopped`);
        const audit = JSON.parse(output.stdout) as AuditResult & { interrupted?: unknown };
        expect(audit.interrupted).toEqual({
          signal,
          completed: 0,
          total: 2,
          notReached: ["python:trainers.external.fixtures.faulty_ranks:sleep", "reference"],
        });
        expect(readFileSync(report, "utf8")).toContain(
          `Interrupted by ${signal} after 0 of 2 trainers; not reached: python:trainers.external.fixtures.faulty_ranks:sleep, reference.`,
        );
        expect(workers.length).toBeGreaterThan(0);
        await waitUntilGone([...workers, ...ranks], 3_000);
        expect([...workers, ...ranks].filter(alive)).toEqual([]);
      } catch (error) {
        killAlive([pid, ...workers, ...ranks]); // a failed test leaves nothing running
        throw error;
      }
    },
  );
});

describe("the Python worker started before the tool has loaded", () => {
  /** An interpreter that notes its process id in `starts`, then runs `then` (a shell command). */
  function loggingInterpreter(then: string): { python: string; starts: string } {
    const dir = mkdtempSync(join(tmpdir(), "accumaudit-prestart-"));
    const python = join(dir, "python");
    const starts = join(dir, "starts");
    writeFileSync(starts, "");
    writeFileSync(python, `#!/bin/sh\necho $$ >> "${starts}"\n${then}\n`);
    chmodSync(python, 0o755);
    return { python, starts };
  }
  const pids = (file: string) => readFileSync(file, "utf8").split("\n").filter(Boolean).map(Number);

  it("is the worker the run uses: one interpreter start for a check", () => {
    const { python, starts } = loggingInterpreter(`exec "${locatePython()}" "$@"`);
    const { code, stdout } = cli(
      ...["check", "--trainer", "python:reference", "--python", python],
      ...["--dataset-size", "20", "--batch-size", "4", "--accumulation", "2"],
    );
    expect(stdout).toContain("PASS  python:reference");
    expect(code).toBe(0);
    expect(pids(starts)).toHaveLength(1);
  });

  it("ends with a command that stops at a usage error (exit 2, no worker left)", async () => {
    const { python, starts } = loggingInterpreter("exec sleep 60");
    const { code, stderr } = cli(
      ...["check", "--trainer", "python:reference", "--python", python, "--batch-size", "0"],
    );
    expect(code).toBe(2);
    expect(stderr).toContain("accumaudit: ");
    const started = await waitFor(() => pids(starts), 2000);
    expect(started).toHaveLength(1); // started before the arguments were parsed
    await waitUntilGone(started, 5000);
    expect(started.filter(alive)).toEqual([]);
    killAlive(started);
  });
});
