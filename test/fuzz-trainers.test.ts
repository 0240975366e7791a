import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import fc from "fast-check";
import { parse as parseJunit } from "junit2json";
import { describe, expect, it } from "vitest";
import {
  caseMarker,
  describeWords,
  fuzzParameters,
  leftAfter,
  outputProblems,
  root,
  startCli,
} from "./support/fuzz-cli.js";
import { hostileText, INVALID_UTF8 } from "./support/hostile.js";

// Faulty trainers, fuzzed (issue 25, item 8): a Python trainer (one process, or two ranks) that
// raises, prints hostile text, hangs, exits, kills itself, returns a generator, starts children,
// writes into the protocol, applies NaN or reads stdin, at a random micro-batch of a random small
// scenario, checked or audited (trainers/external/fixtures/fuzz_trainers.py commits the fault).
// Each case: the exit code the fault calls for, clear outputs, --json as JSON, and no process left
// but those the tool says it does not end (a child in a session of its own, named in a warning).

const module = "python:trainers.external.fixtures.fuzz_trainers";

const fault = fc.oneof(
  fc.record({ kind: fc.constant("none") }),
  fc.record({
    kind: fc.constant("raise"),
    exception: fc.constantFrom(
      "value",
      "base",
      "exit-code",
      "exit-text",
      "keyboard",
      "recursion",
      "unprintable",
      "huge",
    ),
    code: fc.integer({ min: 0, max: 255 }),
  }),
  fc.record({
    kind: fc.constant("print"),
    targets: fc.subarray(["stdout", "stderr", "original", "fd1", "fd2"], { minLength: 1 }),
    newline: fc.boolean(),
  }),
  fc.record({ kind: fc.constant("hang"), busy: fc.boolean() }),
  fc.record({ kind: fc.constant("exit"), code: fc.integer({ min: 0, max: 255 }) }),
  fc.record({
    kind: fc.constant("kill-self"),
    signal: fc.constantFrom("SIGKILL", "SIGTERM", "SIGSEGV", "SIGABRT", "SIGINT", "SIGHUP"),
  }),
  fc.record({
    kind: fc.constant("spawn"),
    count: fc.integer({ min: 1, max: 2 }),
    inherit: fc.boolean(),
  }),
  fc.record({ kind: fc.constant("spawn-escaped") }),
  fc.record({ kind: fc.constant("fork") }),
  fc.record({ kind: fc.constant("protocol") }),
  fc.record({ kind: fc.constant("close-fds") }),
  fc.record({ kind: fc.constant("nan"), value: fc.constantFrom("nan", "inf") }),
  fc.record({ kind: fc.constant("stdin"), input: fc.boolean() }),
  fc.record({ kind: fc.constant("thread") }),
  fc.record({ kind: fc.constant("ignore-signals") }),
  fc.record({ kind: fc.constant("framework") }),
);

const fuzzCase = fc.record({
  shape: fc.constantFrom(
    "train",
    "train",
    "train",
    "train",
    "train",
    "ddp_train",
    "ddp_train",
    "generator",
    "coroutine",
    "returns_generator",
  ),
  fault,
  at: fc.integer({ min: 0, max: 12 }),
  rank: fc.constantFrom<0 | 1 | "all">(0, 1, "all"),
  text: fc.oneof(
    hostileText().map((t) => Buffer.from(t, "utf8")),
    fc.constantFrom(...INVALID_UTF8).map((b) => Buffer.from(b)),
  ),
  audit: fc.boolean(),
  scenario: fc.record({
    batchSize: fc.integer({ min: 1, max: 4 }),
    extra: fc.integer({ min: 0, max: 6 }),
    accumulation: fc.integer({ min: 1, max: 3 }),
    epochs: fc.integer({ min: 1, max: 2 }),
    dropLast: fc.boolean(),
  }),
  json: fc.boolean(),
  report: fc.boolean(),
  junit: fc.boolean(),
  jobs: fc.constantFrom(1, 2),
  seed: fc.integer({ min: 0, max: 1000 }),
});
type Case = typeof fuzzCase extends fc.Arbitrary<infer T> ? T : never;

/** The command line of a case. */
function commandLine(c: Case, folder: string): string[] {
  const worldSize = c.shape === "ddp_train" ? 2 : 1;
  // Faults that can leave a case waiting for its --timeout (junk in a rank's collective sockets).
  const hangs = ["hang", "close-fds", "protocol"].includes(c.fault.kind);
  const n = c.scenario.batchSize * worldSize + c.scenario.extra;
  const common = [
    ...["--trainer", `${module}:${c.shape}`, "--timeout", hangs ? "3" : "60"],
    ...(c.json ? ["--json"] : []),
    ...(c.report ? ["--report", join(folder, "report.html")] : []),
    ...(c.junit ? ["--junit", join(folder, "junit.xml")] : []),
    ...(worldSize > 1 ? ["--world-size", "2"] : []),
  ];
  if (c.audit)
    return [
      "audit",
      ...common,
      "--runs",
      "2",
      "--seed",
      String(c.seed),
      "--max-dataset-size",
      "6",
      "--jobs",
      String(c.jobs),
    ];
  return [
    "check",
    ...common,
    ...["--dataset-size", String(n), "--batch-size", String(c.scenario.batchSize)],
    ...["--accumulation", String(c.scenario.accumulation), "--epochs", String(c.scenario.epochs)],
    ...(c.scenario.dropLast ? ["--drop-last"] : []),
  ];
}

/** The exit codes a case may end with, from the fault and what the fixture noted it did. */
function expectedCodes(c: Case, fired: string[], reached: number): number[] {
  if (c.shape !== "train" && c.shape !== "ddp_train") return [2];
  if (fired.length === 0) return [0];
  switch (c.fault.kind) {
    case "raise":
    case "hang":
    case "exit":
    case "kill-self":
    case "close-fds":
      return [2];
    case "nan":
      return fired.some((line) => line.includes(" during ")) ? [1] : [0];
    case "stdin":
      return c.fault.input ? [2] : [0];
    case "protocol":
      return reached > 0 ? [2] : [0];
    default:
      return [0];
  }
}

/** What is wrong with the report files a run that reported (`reported`) wrote: missing, HTML with a
 * hostile tag not escaped, JUnit XML that does not parse. */
async function fileProblems(c: Case, folder: string, reported: boolean): Promise<string[]> {
  const problems: string[] = [];
  const html = join(folder, "report.html");
  const junit = join(folder, "junit.xml");
  if (reported && c.report && !existsSync(html))
    problems.push("--report, and a run that reported, but no report file");
  if (reported && c.junit && !existsSync(junit))
    problems.push("--junit, and a run that reported, but no JUnit file");
  if (existsSync(html) && readFileSync(html, "utf8").includes("<script>alert(1)"))
    problems.push("the HTML report holds a trainer's <script> tag unescaped");
  if (existsSync(junit))
    await parseJunit(readFileSync(junit, "utf8")).catch((error: Error) =>
      problems.push(`the JUnit file is no XML: ${error.message.slice(0, 200)}`),
    );
  return problems;
}

const lines = (file: string) =>
  existsSync(file) ? readFileSync(file, "utf8").split("\n").filter(Boolean) : [];

describe("fuzz: faulty Python trainers", () => {
  it("every fault ends with the exit code it calls for, clear outputs and no process left", async () => {
    await fc.assert(
      fc.asyncProperty(fuzzCase, async (c) => {
        const folder = mkdtempSync(join(tmpdir(), "accumaudit-fuzz-trainer-"));
        writeFileSync(
          join(folder, "fault.json"),
          JSON.stringify({ ...c.fault, at: c.at, rank: c.rank }),
        );
        writeFileSync(join(folder, "text.bin"), c.text);
        const marker = caseMarker();
        const words = commandLine(c, folder);
        try {
          const run = await startCli(words, {
            cwd: folder,
            env: { ...marker, ACCUMAUDIT_FUZZ_DIR: folder, PYTHONPATH: root },
            limitMs: 150_000,
          }).ended;
          const fired = lines(join(folder, "fired"));
          const reached = lines(join(folder, "reached")).reduce((sum, n) => sum + Number(n), 0);
          const escaped = lines(join(folder, "escaped")).map(Number);
          const problems = outputProblems(run, expectedCodes(c, fired, reached));
          for (const pid of escaped)
            if (
              !new RegExp(
                `running outside its process group, which accumaudit does not end: .*\\b${pid} \\(sleep 600\\)`,
              ).test(run.stderr)
            )
              problems.push(`the child ${pid} in a session of its own is named in no warning`);
          problems.push(...(await fileProblems(c, folder, run.stdout !== "")));
          const left = await leftAfter(marker, 5_000, escaped);
          if (left.length > 0) problems.push(`left running: ${JSON.stringify(left)}`);
          expect(
            problems,
            `${describeWords(words)}\nfault ${JSON.stringify(c.fault)} at ${c.at} rank ${c.rank}; fired: ${fired.join(", ")}\nexit ${run.code} after ${run.ms} ms\nstdout: ${run.stdout.slice(-800)}\nstderr: ${run.stderr.slice(-1200)}`,
          ).toEqual([]);
        } finally {
          rmSync(folder, { recursive: true, force: true });
        }
      }),
      fuzzParameters("trainers", 16),
    );
  }, 900_000);
});
