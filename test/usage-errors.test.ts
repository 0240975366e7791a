import { execFileSync, spawnSync } from "node:child_process";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";

// Every bad input is one line naming the flag and what it takes, exit code 2; a trainer that is
// no plain training function, or ends with a BaseException, is an error naming it (issue 25,
// item 6).

const root = join(import.meta.dirname, "..");
const bin = join(root, "dist", "cli", "main.js");
const fixture = "python:trainers.external.fixtures.hostile_trainers";
const small = ["--dataset-size", "4", "--batch-size", "2", "--accumulation", "1"];

function cli(...args: string[]) {
  const run = spawnSync(process.execPath, [bin, ...args], {
    cwd: root,
    encoding: "utf8",
    timeout: 300_000,
  });
  return { code: run.status, stdout: run.stdout, stderr: run.stderr };
}

beforeAll(() => {
  execFileSync("npm", ["run", "build", "--silent"], { cwd: root, stdio: "pipe" });
});

describe("a bad flag value", () => {
  const check = ["check", "--trainer", "reference", ...small];
  it.each([
    [
      [...check, "--shuffle", "-1"],
      "--shuffle: expected false or a whole number from 0 to 4294967295, saw -1",
    ],
    [
      [...check, "--shuffle", "99999999999999999999"],
      "--shuffle: expected false or a whole number from 0 to 4294967295, saw 99999999999999999999",
    ],
    [
      [...check, "--shuffle", "4294967296"],
      "--shuffle: expected false or a whole number from 0 to 4294967295, saw 4294967296",
    ],
    [[...check, "--shuffle", "yes"], '--shuffle: expected false or a whole number, saw "yes"'],
    [
      [...check, "--weighting", "tokens", "--lengths", "100000000"],
      "--lengths: expected whole numbers from 0 to 64, saw 100000000",
    ],
    [
      [...check, "--lengths", "100000000"],
      "--lengths: expected whole numbers from 0 to 64, saw 100000000",
    ],
    [
      ["check", "--trainer", "reference", "--batch-size", "2", "--accumulation", "1"].concat([
        "--dataset-size",
        "9007199254740993",
      ]),
      "--dataset-size: expected a whole number from 1 to 1000000, saw 9007199254740993",
    ],
    [
      [...check, "--drop-last=false"],
      '--drop-last: expected no value (a switch: --drop-last turns it on, leaving it out keeps it off), saw "false"',
    ],
    [
      [...check, "--python", ""],
      '--python: expected the path of a Python interpreter with torch, saw ""',
    ],
    [
      ["check", "--trainer", "python:reference", ...small, "--python", ""],
      '--python: expected the path of a Python interpreter with torch, saw ""',
    ],
    [
      ["check", "--trainer", "python:reference", ...small, "--python", "/bin/true"],
      "--python: /bin/true is not a working Python with torch: it exited with code 0 before the worker's hello",
    ],
    [["list", "--foo"], "--foo: unknown flag; expected --json or --help"],
    [["list", "--json", "--verbose"], "--verbose: unknown flag; expected --json or --help"],
    [
      ["audit", "--trainer", "reference", "--seed", "1", "--runs", "3", "--path", "5"],
      "--path: expected a first number from 0 to 2 (below --runs 3), saw 5; give the --runs of the search that printed it",
    ],
    [
      ["audit", "--trainer", "reference", "--world-size", "5"],
      "--world-size: expected at most 1 for reference (it runs in one process), saw 5",
    ],
    [
      ["audit", "--world-size", "3"],
      "--world-size: expected at most 1 for docs-loop, tail-step, two-loop, k-plus-one and reference (each runs in one process), saw 3",
    ],
    [
      ["audit", "--trainer", "python:docs-loop", "--world-size", "2"],
      "--world-size: expected at most 1 for python:docs-loop (it runs in one process), saw 2",
    ],
    [
      ["audit", "--trainer", `${fixture}:reference_loop`, "--world-size", "2"],
      `--world-size: expected at most 1 for ${fixture}:reference_loop (it runs in one process unless marked with @accumaudit_probe.distributed), saw 2`,
    ],
  ])("%j is one line naming the flag and what it takes", (args, message) => {
    const { code, stdout, stderr } = cli(...args);
    expect(stderr).toBe(`accumaudit: ${message}\n`);
    expect(code).toBe(2);
    expect(stdout).toBe("");
  });

  it("--shuffle false is no shuffle, as --help says", () => {
    expect(cli("check", "--help").stdout).toMatch(/--shuffle SEED .*false keeps index order/);
    const off = cli(...check, "--shuffle", "false", "--json");
    expect(off.code).toBe(0);
    expect(JSON.parse(off.stdout).scenario.shuffle).toBe(false);
    const pinned = cli("audit", "--trainer", "reference", "--shuffle", "false", "--runs", "2");
    expect(pinned.code).toBe(0);
    expect(pinned.stdout).toContain("pinned in every scenario: shuffle false");
  });

  it("a list flag with no other flag still lists", () => {
    const { code, stdout } = cli("list", "--json");
    expect(code).toBe(0);
    expect(JSON.parse(stdout).length).toBeGreaterThan(5);
  });
});

describe("a trainer that is no plain training function", () => {
  it.each([
    ["generator", "is a generator function"],
    ["coroutine", "is an async function (async def)"],
    ["returns_generator", "returned a generator without running it"],
  ])("%s is an error naming it, not a failing run", (name, what) => {
    const trainer = `${fixture}:${name}`;
    const { code, stdout } = cli("check", "--trainer", trainer, ...small);
    expect(code).toBe(2);
    expect(stdout).toContain(
      `  error: ${trainer}: worker: ${trainer} ${what}; a trainer is a plain function train(ctx) that runs the whole training\n`,
    );
  });
});

describe("a trainer that raises a BaseException", () => {
  it.each([
    ["keyboard_interrupt", "KeyboardInterrupt: stopped by the trainer", "raise KeyboardInterrupt"],
    ["custom_base_exception", "Stop: a BaseException of its own", 'raise Stop("a BaseException'],
  ])("%s gets its location like any other exception", (name, message, code) => {
    const trainer = `${fixture}:${name}`;
    const result = cli("check", "--trainer", trainer, ...small);
    expect(result.code).toBe(2);
    expect(result.stdout).toMatch(
      new RegExp(
        `error: ${trainer}: worker: ${message} \\(hostile_trainers\\.py:\\d+ in ${name}\\)`,
      ),
    );
    expect(result.stdout).toContain("in your code (outermost first):");
    expect(result.stdout).toContain(code);
    // The worker survived it: no traceback of its own on stderr.
    expect(result.stderr).not.toContain("Traceback");
  });
});
