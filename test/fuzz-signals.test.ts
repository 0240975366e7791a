import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  caseMarker,
  describeWords,
  fuzzParameters,
  leftAfter,
  listensForSignals,
  outputProblems,
  root,
  startCli,
} from "./support/fuzz-cli.js";

// Signals at random moments, fuzzed (issue 25, item 8): SIGINT, SIGTERM, SIGHUP or SIGKILL sent to
// the tool after a random delay (from its start, or from the moment the trainer started training),
// sometimes a second signal after it, during a check or an audit of a Python trainer, a
// data-parallel one on 2 ranks, a slow trainer of the fuzz fixtures that starts a child on every
// rank, or the built-in trainers on threads. Each case: exit code 130 with the interruption named
// on stderr (or the finished run's code when the signal came too late to stop it; SIGKILL: no
// code; a signal before Node ran the tool's first line, which no program can catch: the signal's
// own end), clear outputs, --json as JSON, and no worker, rank or child left within seconds.

const fixture = "python:trainers.external.fixtures.fuzz_trainers";

const TARGETS = {
  python: { trainer: "python:reference", ranks: 1, fixture: false },
  ddp: { trainer: "python:ddp-reference", ranks: 2, fixture: false },
  slow: { trainer: `${fixture}:train`, ranks: 1, fixture: true },
  "slow-ddp": { trainer: `${fixture}:ddp_train`, ranks: 2, fixture: true },
  "built-in": { trainer: "reference", ranks: 1, fixture: false },
} as const;

const fuzzCase = fc.record({
  target: fc.constantFrom(...(Object.keys(TARGETS) as Array<keyof typeof TARGETS>)),
  audit: fc.boolean(),
  signal: fc.constantFrom<NodeJS.Signals>("SIGINT", "SIGTERM", "SIGHUP", "SIGKILL"),
  fromTraining: fc.boolean(),
  // Without fast-check's bias to the bounds: every moment of the first seconds alike.
  delayMs: fc.noBias(fc.integer({ min: 0, max: 5_000 })),
  again: fc.option(
    fc.record({
      signal: fc.constantFrom<NodeJS.Signals>("SIGINT", "SIGTERM", "SIGHUP"),
      afterMs: fc.noBias(fc.integer({ min: 0, max: 500 })),
    }),
    { nil: undefined },
  ),
  json: fc.boolean(),
  spawn: fc.boolean(),
  seed: fc.integer({ min: 0, max: 1000 }),
});
type Case = typeof fuzzCase extends fc.Arbitrary<infer T> ? T : never;

/** A command line that runs for seconds: a larger scenario, or a long search. */
function commandLine(c: Case): string[] {
  const target = TARGETS[c.target];
  const common = [
    ...["--trainer", target.trainer],
    ...(target.ranks > 1 ? ["--world-size", "2"] : []),
    ...(c.json ? ["--json"] : []),
  ];
  if (c.audit || c.target === "built-in")
    return [
      "audit",
      ...common,
      "--runs",
      c.target === "built-in" ? "3000" : "300",
      "--seed",
      String(c.seed),
      "--max-dataset-size",
      "24",
      "--jobs",
      "2",
    ];
  return [
    "check",
    ...common,
    "--dataset-size",
    "64",
    "--batch-size",
    "2",
    "--accumulation",
    "2",
    "--epochs",
    "2",
  ];
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Whether stdout holds a finished run's whole report (a signal that came as the run ended). */
function finished(c: Case, stdout: string): boolean {
  if (c.json) {
    try {
      return !("interrupted" in JSON.parse(stdout));
    } catch {
      return false;
    }
  }
  return !stdout.includes("Interrupted by") && /^(PASS {2}|\d+ trainers?: )/m.test(stdout);
}

describe("fuzz: signals at random moments", () => {
  it("every signal ends the tool with 130 (SIGKILL: at once), clear outputs and no process left", async () => {
    await fc.assert(
      fc.asyncProperty(fuzzCase, async (c) => {
        const folder = mkdtempSync(join(tmpdir(), "accumaudit-fuzz-signal-"));
        // The fixture trains correctly, slowly (20 ms per micro-batch), and starts a child per rank.
        writeFileSync(
          join(folder, "fault.json"),
          JSON.stringify({ kind: c.spawn ? "spawn" : "slow", at: 0, delay: 0.02 }),
        );
        const marker = caseMarker();
        const words = commandLine(c);
        try {
          const started = startCli(words, {
            cwd: folder,
            env: { ...marker, ACCUMAUDIT_FUZZ_DIR: folder, PYTHONPATH: root },
            limitMs: 240_000,
          });
          const waitForTraining = c.fromTraining && TARGETS[c.target].fixture;
          for (
            let waited = 0;
            waitForTraining && !started.exited && waited < 60_000;
            waited += 50
          ) {
            if (existsSync(join(folder, "started"))) break;
            await sleep(50);
          }
          await sleep(c.delayMs);
          // Before the tool's first line runs, Node ends on a signal as the signal says: allowed then.
          const listening = listensForSignals(started.pid);
          const sent = started.signal(c.signal);
          if (sent && c.again) {
            await sleep(c.again.afterMs);
            started.signal(c.again.signal);
          }
          const run = await started.ended;
          const killed = sent && c.signal === "SIGKILL";
          const late = finished(c, run.stdout);
          const problems =
            killed && !(late && run.code === 0)
              ? outputProblems(run, "SIGKILL")
              : sent && !listening && run.code === null
                ? outputProblems(run, c.signal)
                : outputProblems(run, sent && !killed ? (late ? [0, 130] : [130]) : [0]);
          if (
            sent &&
            !killed &&
            run.code === 130 &&
            !run.stderr.includes(`accumaudit: interrupted by ${c.signal}`)
          )
            problems.push(`exit 130, but stderr does not say "interrupted by ${c.signal}"`);
          const left = await leftAfter(marker, 5_000);
          if (left.length > 0) problems.push(`left running: ${JSON.stringify(left)}`);
          expect(
            problems,
            `${describeWords(words)}\n${c.signal} ${sent ? "sent" : "not sent (ended before)"} after ${c.delayMs} ms${waitForTraining ? " of training" : ""}${c.again ? `, then ${c.again.signal} ${c.again.afterMs} ms later` : ""}\nexit ${run.code ?? run.signal} after ${run.ms} ms\nstdout: ${run.stdout.slice(-600)}\nstderr: ${run.stderr.slice(-800)}`,
          ).toEqual([]);
        } finally {
          rmSync(folder, { recursive: true, force: true });
        }
      }),
      fuzzParameters("signals", 10),
    );
  }, 900_000);
});
