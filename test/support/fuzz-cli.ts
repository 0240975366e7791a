import { spawn } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import type fc from "fast-check";
import { printableText } from "../../reports/printable.js";

// The fuzz suites' common ground: the command line started with any bytes for arguments, the
// processes it left (found by a marker in their environment, which every worker, rank and child
// inherits), and what every case asserts of its outputs.

export const root = join(import.meta.dirname, "..", "..");
const bin = join(root, "dist", "cli", "main.js");

/** One command-line word: text, or raw bytes (invalid UTF-8 included; never a NUL). */
export type Word = string | Uint8Array;

/** A finished run of the command line. */
export interface CliRun {
  words: Word[];
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  /** Still running after the case's limit: killed by the test. */
  timedOut: boolean;
  ms: number;
}

/** A started run: its process id, a way to signal it, and its end. */
export interface CliStart {
  pid: number;
  signal(name: NodeJS.Signals): boolean;
  /** Whether the process has ended (its exit has been seen). */
  readonly exited: boolean;
  ended: Promise<CliRun>;
}

/** `bytes` as a bash ANSI-C quoted word, `$'...'`, every byte but plain ASCII as `\xHH`. */
function ansiC(bytes: Uint8Array): string {
  let out = "";
  for (const byte of bytes)
    out +=
      byte >= 0x20 && byte < 0x7f && byte !== 0x27 && byte !== 0x5c
        ? String.fromCharCode(byte)
        : `\\x${byte.toString(16).padStart(2, "0")}`;
  return `$'${out}'`;
}

/**
 * Starts `node dist/cli/main.js` with `words`, through `bash -c 'exec ...'` (bash replaces itself,
 * so the process id is the tool's), which is how raw bytes reach its argv. Killed after `limitMs`.
 */
export function startCli(
  words: Word[],
  options: { cwd: string; env: Record<string, string>; limitMs: number },
): CliStart {
  const bytes = [process.execPath, bin, ...words].map((word) =>
    typeof word === "string" ? Buffer.from(word, "utf8") : word,
  );
  const script = `exec ${bytes.map(ansiC).join(" ")}`;
  const started = Date.now();
  const child = spawn("bash", ["-c", script], {
    cwd: options.cwd,
    env: { ...process.env, ...options.env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const stdout: Buffer[] = [];
  const stderr: Buffer[] = [];
  child.stdout.on("data", (chunk: Buffer) => stdout.push(chunk));
  child.stderr.on("data", (chunk: Buffer) => stderr.push(chunk));
  let timedOut = false;
  let exited = false;
  child.on("exit", () => {
    exited = true;
  });
  const timer = setTimeout(() => {
    timedOut = true;
    child.kill("SIGKILL");
  }, options.limitMs);
  const ended = new Promise<CliRun>((resolve) => {
    child.on("close", (code, signal) => {
      clearTimeout(timer);
      resolve({
        words,
        code,
        signal,
        stdout: Buffer.concat(stdout).toString("utf8"),
        stderr: Buffer.concat(stderr).toString("utf8"),
        timedOut,
        ms: Date.now() - started,
      });
    });
  });
  return {
    pid: child.pid ?? -1,
    signal: (name) => !exited && child.kill(name),
    get exited() {
      return exited;
    },
    ended,
  };
}

/** A case's marker, as the environment it is put in: inherited by everything the tool starts. */
export function caseMarker(): Record<string, string> {
  return {
    ACCUMAUDIT_FUZZ_MARK: `${process.pid}-${Date.now()}-${Math.random().toString(36).slice(2)}`,
  };
}

/** The live processes (not zombies) with `marker` in their environment: pid and command line. */
export function markedProcesses(
  marker: Record<string, string>,
): Array<{ pid: number; command: string }> {
  const found = [];
  const needle = Buffer.from(`ACCUMAUDIT_FUZZ_MARK=${marker.ACCUMAUDIT_FUZZ_MARK}\0`);
  for (const name of readdirSync("/proc")) {
    if (!/^\d+$/.test(name)) continue;
    try {
      if (!readFileSync(`/proc/${name}/environ`).includes(needle)) continue;
      const stat = readFileSync(`/proc/${name}/stat`, "utf8");
      if (stat.slice(stat.lastIndexOf(")") + 2).startsWith("Z")) continue;
      const command = readFileSync(`/proc/${name}/cmdline`, "utf8").replaceAll("\0", " ").trim();
      found.push({ pid: Number(name), command: command.slice(0, 160) });
    } catch {
      // ended meanwhile, or not ours to read
    }
  }
  return found;
}

/**
 * Waits up to `graceMs` for every process marked `marker` (but those in `allowed`) to end; kills
 * whatever is left (a case must not leave the machine busier) and returns what was left.
 */
export async function leftAfter(
  marker: Record<string, string>,
  graceMs: number,
  allowed: readonly number[] = [],
): Promise<Array<{ pid: number; command: string }>> {
  const deadline = Date.now() + graceMs;
  let left = markedProcesses(marker).filter((p) => !allowed.includes(p.pid));
  while (left.length > 0 && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 100));
    left = markedProcesses(marker).filter((p) => !allowed.includes(p.pid));
  }
  for (const { pid } of markedProcesses(marker)) {
    try {
      process.kill(pid, "SIGKILL");
    } catch {
      // gone meanwhile
    }
  }
  return left;
}

/** Every character the tool must never print raw: C0 controls but the line feed, DEL, C1, bidi. */
const RAW =
  // biome-ignore lint/suspicious/noControlCharactersInRegex: finding control characters is its job
  /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/;

/** A Node stack frame or a Python traceback: what the tool must never show. */
const STACK = /^\s+at .+:\d+:\d+\)?$|Traceback \(most recent call last\)/m;

/** The word as the tool shows it (invalid UTF-8 decoded as Node decodes argv). */
export function shown(word: Word): string {
  return printableText(typeof word === "string" ? word : Buffer.from(word).toString("utf8"));
}

/** The case's words as one printable line, for failure messages (raw bytes in hex). */
export function describeWords(words: Word[]): string {
  const quoted = words.map((w) =>
    JSON.stringify(typeof w === "string" ? w : `bytes:${Buffer.from(w).toString("hex")}`),
  );
  return printableText(quoted.join(" "));
}

/**
 * What is wrong with a finished run: the checks every case makes. `allowed`: the exit codes the
 * case may end with, or the signal that was sent to end it at once (then only what it printed
 * until then is checked: no raw control character, no stack trace).
 */
export function outputProblems(run: CliRun, allowed: readonly number[] | NodeJS.Signals): string[] {
  const problems: string[] = [];
  const words = run.words.map((w) => (typeof w === "string" ? w : ""));
  const cut = typeof allowed === "string";
  if (run.timedOut) problems.push(`still running after ${run.ms} ms: killed by the test`);
  else if (cut) {
    if (run.signal !== allowed)
      problems.push(`ended by ${run.signal ?? `code ${run.code}`}, expected ${allowed}`);
  } else if (run.code === null) problems.push(`ended by ${run.signal}, not with an exit code`);
  else if (!allowed.includes(run.code))
    problems.push(`exit code ${run.code}, expected one of ${allowed.join(", ")}`);
  for (const [name, text] of [
    ["stdout", run.stdout],
    ["stderr", run.stderr],
  ] as const) {
    const raw = RAW.exec(text);
    if (raw)
      problems.push(
        `${name} holds a raw ${JSON.stringify(raw[0])} at ${raw.index}: ${JSON.stringify(text.slice(Math.max(0, raw.index - 60), raw.index + 20))}`,
      );
    const stack = STACK.exec(text);
    if (stack)
      problems.push(
        `${name} shows a stack trace: ${JSON.stringify(text.slice(stack.index, stack.index + 300))}`,
      );
  }
  if (cut) return problems;
  const lines = run.stderr.replace(/\n$/, "").split("\n");
  const last = lines.at(-1) ?? "";
  if (run.stderr !== "" && (last.trim() === "" || !run.stderr.endsWith("\n")))
    problems.push(
      `stderr's last line is not one complete line: ${JSON.stringify(run.stderr.slice(-200))}`,
    );
  if (run.code === 2 && run.stdout === "") {
    // A usage error (or an error before any run): exactly one line, accumaudit: and what is wrong.
    if (lines.length !== 1 || (!/^accumaudit: [^:\s]/.test(last) && !/^accumaudit: "/.test(last)))
      problems.push(
        `an error without output is not one "accumaudit: ..." line: ${JSON.stringify(run.stderr.slice(0, 400))}`,
      );
    // The flag named: a word given, or its start (a long one is cut in the middle).
    const flag = /^accumaudit: (-[^:]*): unknown flag/.exec(last)?.[1]?.split("… (")[0];
    if (
      flag !== undefined &&
      (/^-+$/.test(flag) || !run.words.some((w) => shown(w).startsWith(flag)))
    )
      problems.push(`the unknown flag named, ${JSON.stringify(flag)}, is none that was given`);
  }
  const help = words.includes("--help") || words.includes("-h");
  const asked = words.includes("--json") && !help;
  if (asked && run.stdout !== "") {
    try {
      JSON.parse(run.stdout);
    } catch (error) {
      problems.push(
        `--json, but stdout is no JSON (${(error as Error).message}): ${JSON.stringify(run.stdout.slice(0, 300))}`,
      );
    }
  }
  if (asked && (run.code === 0 || run.code === 1) && run.stdout === "")
    problems.push("--json and a verdict, but nothing on stdout");
  return problems;
}

/** The seed `npm test` fuzzes with, so that CI runs the same cases every time. */
const CI_SEED = 20261207;

/**
 * The seed and runs of a fuzz suite, printed with the command that replays it:
 * $ACCUMAUDIT_FUZZ_SEED (a number, or `random` for a new seed each run) and _RUNS, else
 * {@link CI_SEED}.
 */
export function fuzzParameters(suite: string, runs: number): fc.Parameters<unknown> {
  const asked = process.env.ACCUMAUDIT_FUZZ_SEED;
  const seed =
    asked === "random" ? (Date.now() ^ (Math.random() * 2 ** 31)) | 0 : Number(asked ?? CI_SEED);
  const numRuns = Number(process.env.ACCUMAUDIT_FUZZ_RUNS ?? runs);
  const path = process.env.ACCUMAUDIT_FUZZ_PATH;
  console.log(
    `fuzz ${suite}: seed ${seed}, ${numRuns} runs; replay: ACCUMAUDIT_FUZZ_SEED=${seed}${path ? ` ACCUMAUDIT_FUZZ_PATH=${path}` : ""} npx vitest run test/fuzz-${suite}.test.ts`,
  );
  // No shrinking: each case starts processes for seconds; the failing case itself is printed.
  return { seed, numRuns, endOnFailure: true, ...(path ? { path } : {}) };
}

/**
 * Whether the tool has its signal handlers in place (cli/main.ts's first line has run): read from
 * whether it catches SIGHUP, which Node leaves to its default until the tool listens for it.
 */
export function listensForSignals(pid: number): boolean {
  try {
    const caught = /^SigCgt:\s*([0-9a-f]+)$/m.exec(
      readFileSync(`/proc/${pid}/status`, "utf8"),
    )?.[1];
    return caught !== undefined && (BigInt(`0x${caught}`) & 1n) === 1n; // bit 0: signal 1, SIGHUP
  } catch {
    return false;
  }
}
