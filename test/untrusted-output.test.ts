import { execFileSync, spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";

// What a trainer names, prints and raises is shown by the tool, never obeyed by the terminal:
// escape sequences and line breaks come out escaped, a forged verdict line cannot start a line,
// and a multi-megabyte message is cut with its size in every output (issue 25, item 5).

const root = join(import.meta.dirname, "..");
const bin = join(root, "dist", "cli", "main.js");
const fixture = "python:trainers.external.fixtures.hostile_trainers";
const small = ["--dataset-size", "4", "--batch-size", "2", "--accumulation", "1"];

function cli(...args: string[]) {
  const run = spawnSync(process.execPath, [bin, ...args], {
    cwd: root,
    encoding: "utf8",
    timeout: 300_000,
    maxBuffer: 64 * 1024 * 1024,
  });
  return { code: run.status, stdout: run.stdout, stderr: run.stderr };
}

/** Every character a terminal would act on: ESC, CSI, BEL, CR and the other C0/C1 controls. */
// biome-ignore lint/suspicious/noControlCharactersInRegex: finding control characters is its job
const CONTROL = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/;

/** The output as a terminal would show it: safe, and no line that starts with a forged verdict. */
function expectSafe(text: string) {
  expect(text).not.toMatch(CONTROL);
  for (const line of text.split("\n"))
    expect(line).not.toMatch(/^(PASS|FAIL) +(forged|python:reference)/);
}

beforeAll(() => {
  execFileSync("npm", ["run", "build", "--silent"], { cwd: root, stdio: "pipe" });
});

describe("text from a trainer on the terminal", () => {
  it("a trainer name with an escape sequence and a line break is shown escaped, on its own line", () => {
    const name = `${fixture}:missing\u001b[2J\nPASS  forged\r`;
    const { code, stdout, stderr } = cli("check", "--trainer", name, ...small);
    expect(code).toBe(2);
    expectSafe(stdout);
    expectSafe(stderr);
    expect(stdout).toContain("missing\\x1b[2J\\nPASS  forged\\r");
    expect(stdout.split("\n")[0]).toMatch(/^ERROR {2}python:trainers/);
  });

  it("an audit's replay line quotes such a name so that it prints safely and still runs", () => {
    const name = `${fixture}:missing\u001b[2J\nPASS  forged`;
    const { code, stdout, stderr } = cli("audit", "--trainer", name, "--runs", "1", "--seed", "1");
    expect(code).toBe(2);
    expectSafe(stdout);
    expectSafe(stderr);
    const replay = stdout.split("\n").find((line) => line.startsWith("  replay: "));
    expect(replay).toContain(`--trainer $'${fixture}:missing\\x1b[2J\\nPASS  forged'`);
    // bash reads the word back as the name that was given.
    const word = /--trainer (\$'[^']*') /.exec(replay ?? "")?.[1] ?? "";
    expect(execFileSync("bash", ["-c", `printf %s ${word}`], { encoding: "utf8" })).toBe(name);
  });

  it("printed escape sequences, a forged PASS line and a hostile framework name are shown escaped", () => {
    const { code, stdout, stderr } = cli(
      "check",
      "--trainer",
      `${fixture}:forges_output`,
      // One micro-batch of every sample per step: the fixture's loop is correct on it.
      ...["--dataset-size", "4", "--batch-size", "4", "--accumulation", "1"],
    );
    expect(code).toBe(0);
    expectSafe(stdout);
    expectSafe(stderr);
    expect(stdout.split("\n")[0]).toBe(
      `PASS  ${fixture}:forges_output (evil\\x1b[31m\\nPASS  forged 1.0\\x1b]0;title\\x07)  N 4 · B 4 · K 1 · 1 epoch`,
    );
    // Each printed line is forwarded with the trainer's name before it, its escapes shown.
    expect(stderr).toContain(`[${fixture}:forges_output] \\x1b[2J\\x1b[H`);
    expect(stderr).toContain(
      `[${fixture}:forges_output] PASS  python:reference  N 110 · B 8 · K 4 · 2 epochs\\u202e`,
    );
  });
});

describe("a multi-megabyte message", () => {
  const folder = mkdtempSync(join(tmpdir(), "accumaudit-huge-"));
  const report = join(folder, "report.html");

  it("is cut with its size stated in the text, and so is a printed line", () => {
    const { code, stdout, stderr } = cli(
      "check",
      "--trainer",
      `${fixture}:huge_message`,
      ...small,
      "--report",
      report,
    );
    expect(code).toBe(2);
    expectSafe(stdout);
    expectSafe(stderr);
    // Cut in the middle: the location the message ends with stays.
    expect(stdout).toMatch(
      /error: .*ValueError: \\x1b\[2Jx{100,}… \(5\.0 MB cut\) …x+ PASS forged \(hostile_trainers\.py:\d+ in huge_message\)\n/,
    );
    expect(stdout.length).toBeLessThan(10_000);
    expect(stderr).toMatch(/\] y{100,}… \(5\.0 MB cut\) …y{100,}\n/);
    expect(stderr.length).toBeLessThan(10_000);
  });

  it("is cut in the HTML report", () => {
    const html = readFileSync(report, "utf8");
    expect(html).toMatch(/ValueError: \\x1b\[2Jx{100,}… \(5\.0 MB cut\) …x+ PASS forged/);
    expect(html).toMatch(/y{100,}… \(5\.0 MB cut\) …y{100,}/);
    expect(statSync(report).size).toBeLessThan(500_000);
  });

  it("is cut in --json, which stays valid and bounded", () => {
    const { code, stdout } = cli(
      "check",
      "--trainer",
      `${fixture}:huge_message`,
      ...small,
      "--json",
    );
    expect(code).toBe(2);
    expect(stdout.length).toBeLessThan(50_000);
    const result = JSON.parse(stdout) as { error: string; output: string[] };
    expect(result.error).toMatch(/x{100,}… \(5\.0 MB cut\)/);
    expect(result.output.some((line) => /^y{100,}… \(5\.0 MB cut\) …y+$/.test(line))).toBe(true);
  });
});

describe("the HTML report's command line", () => {
  it("is shell-quoted, word by word", () => {
    const folder = mkdtempSync(join(tmpdir(), "accumaudit it's quoted-"));
    const report = join(folder, "report.html");
    const { code } = cli("check", "--trainer", "reference", ...small, "--report", report);
    expect(code).toBe(0);
    const html = readFileSync(report, "utf8");
    const command = /<p>Command:<\/p><pre><code>([^<]*)<\/code><\/pre>/.exec(html)?.[1];
    expect(command).toBe(
      `accumaudit check --trainer reference --dataset-size 4 --batch-size 2 --accumulation 1 --report &#39;${report.replaceAll("'", "&#39;\\&#39;&#39;")}&#39;`,
    );
  });
});
