import { spawn, spawnSync } from "node:child_process";
import { chmodSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { caseMarker, leftAfter, listensForSignals, root } from "./support/fuzz-cli.js";

// What the fuzz suites (test/fuzz-*.test.ts) found, each kept as a plain test.

const bin = join(root, "dist", "cli", "main.js");
const trainer = "python:trainers.external.fixtures.fuzz_trainers:train";
const small = ["--dataset-size", "8", "--batch-size", "2", "--accumulation", "2"];

/**
 * The command line run with the fuzz fixture's `fault` (trainers/external/fixtures/fuzz_trainers.py)
 * and, for its hostile text, `fault.text`.
 */
function withFault(fault: { text?: string } & Record<string, unknown>, ...args: string[]) {
  const folder = mkdtempSync(join(tmpdir(), "accumaudit-finding-"));
  writeFileSync(join(folder, "fault.json"), JSON.stringify(fault));
  if (fault.text !== undefined) writeFileSync(join(folder, "text.bin"), fault.text);
  const run = spawnSync(process.execPath, [bin, ...args], {
    cwd: root,
    env: { ...process.env, ACCUMAUDIT_FUZZ_DIR: folder },
    encoding: "utf8",
    timeout: 120_000,
  });
  return { code: run.status, stdout: run.stdout, stderr: run.stderr };
}

describe("an unknown flag is named as it was given", () => {
  it.each([
    ["-é", "-é"],
    ["--é", "--é"],
    ["--\u001b[2J", "--\\x1b[2J"],
  ])("list %j", (word, shown) => {
    const run = spawnSync(process.execPath, [bin, "list", word], { encoding: "utf8" });
    expect(run.stderr).toBe(`accumaudit: ${shown}: unknown flag; expected --json or --help\n`);
    expect(run.status).toBe(2);
  });
});

describe("a trainer that breaks the worker's own reporting", () => {
  it("an exception whose __str__ raises is the check's error, in one line", () => {
    const { code, stdout, stderr } = withFault(
      { kind: "raise", exception: "unprintable", at: 1 },
      ...["check", "--trainer", trainer, ...small],
    );
    expect(code).toBe(2);
    expect(stdout).toMatch(
      /error: .*: worker: Unprintable: <exception str\(\) failed: RuntimeError: __str__ of Unprintable raised> \(fuzz_trainers\.py:\d+ in commit\)\n/,
    );
    expect(stderr).not.toContain("Traceback");
  });

  it("a trainer that closes the worker's descriptors ends the check with one line, no traceback", () => {
    const { code, stdout, stderr } = withFault(
      { kind: "close-fds", at: 1 },
      ...["check", "--trainer", trainer, ...small, "--timeout", "30"],
    );
    expect(code).toBe(2);
    expect(stdout).toContain(
      "worker: exited with code 3; stderr: accumaudit worker: its protocol channel takes no more messages (OSError: [Errno 9] Bad file descriptor); ending",
    );
    expect(`${stdout}${stderr}`).not.toContain("Traceback");
  });
});

describe("--json of a trainer whose framework name steers a terminal", () => {
  it("is escaped as \\uXXXX where JSON.stringify leaves it raw, and parses to the name", () => {
    const name = "evil\u2028\u009b2J\u202e";
    const { code, stdout } = withFault(
      { kind: "framework", at: 0, text: name },
      ...["check", "--trainer", trainer, ...small, "--json"],
    );
    expect(code).toBe(0);
    expect(stdout).toContain('"framework": "evil\\u2028\\u009b2J\\u202e"');
    expect(JSON.parse(stdout).trainerInfo.framework).toBe(name);
  });
});

describe("a data-parallel trainer that closes a rank's descriptors", () => {
  it("ends the check with the rank's one line, no traceback", () => {
    const { code, stdout, stderr } = withFault(
      { kind: "close-fds", at: 2, rank: 0 },
      ...["check", "--trainer", `${trainer.replace(/:train$/, ":ddp_train")}`, ...small],
      ...["--world-size", "2", "--timeout", "30"],
    );
    expect(code).toBe(2);
    expect(stdout).toContain("worker: rank 0 of 2 exited with code 70");
    expect(stderr).toContain(
      "] accumaudit: rank 0 of 2 cannot reach the worker (OSError: [Errno 9] Bad file descriptor)\n",
    );
    expect(stderr).not.toContain("Traceback");
  });
});

describe("a signal before the command watches for it", () => {
  it("SIGTERM while --python is being tried ends the tool with 130 and that program with it", async () => {
    const folder = mkdtempSync(join(tmpdir(), "accumaudit-finding-"));
    const slow = join(folder, "slow-python");
    writeFileSync(slow, "#!/bin/sh\nexec sleep 60\n");
    chmodSync(slow, 0o755);
    const marker = caseMarker();
    const child = spawn(
      process.execPath,
      [bin, "check", "--trainer", "python:reference", ...small, "--python", slow],
      { env: { ...process.env, ...marker }, stdio: ["ignore", "pipe", "pipe"] },
    );
    let stderr = "";
    child.stderr.on("data", (chunk) => {
      stderr += String(chunk);
    });
    const closed = new Promise<number | null>((resolve) => child.on("close", resolve));
    // Before the fix Node's default ended the tool by the signal: no line, no exit code.
    for (let waited = 0; !listensForSignals(child.pid ?? -1) && waited < 30_000; waited += 50)
      await new Promise((resolve) => setTimeout(resolve, 50));
    await new Promise((resolve) => setTimeout(resolve, 1_000)); // the hello is being waited for
    child.kill("SIGTERM");
    expect(await closed).toBe(130);
    expect(stderr).toBe("\naccumaudit: interrupted by SIGTERM; every worker stopped\n");
    expect(await leftAfter(marker, 3_000)).toEqual([]);
  });
});

describe("signals while the tool ends", () => {
  it("SIGTERM sent again and again once the verdict is out never ends the tool by the signal", async () => {
    // Before the fix the tool ended on its own and Node dropped its signal handlers tens of
    // milliseconds before the process was gone: a signal then ended it by the signal (8 of 8).
    const ends: Array<number | string | null> = [];
    for (let round = 0; round < 3; round++) {
      const child = spawn(process.execPath, [bin, "check", "--trainer", "reference", ...small], {
        stdio: ["ignore", "pipe", "ignore"],
      });
      let exited = false;
      const end = new Promise<number | string | null>((resolve) =>
        child.on("exit", (code, signal) => {
          exited = true;
          resolve(code ?? signal);
        }),
      );
      let stdout = "";
      let burst: NodeJS.Timeout | undefined;
      child.stdout.on("data", (chunk) => {
        stdout += String(chunk);
        if (burst === undefined && stdout.startsWith("PASS"))
          burst = setInterval(() => exited || child.kill("SIGTERM"), 2);
      });
      ends.push(await end);
      clearInterval(burst);
    }
    for (const code of ends) expect([0, 130]).toContain(code);
  });
});
