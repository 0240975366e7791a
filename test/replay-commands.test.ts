/**
 * A replay command runs as printed: taken from an audit's text or JSON output, or from a check's
 * JUnit file, and run by `sh -c` from the folder the run started in (with no PYTHONPATH of its own:
 * the line sets what the trainer's module needed), it reaches the same verdict.
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { delimiter, dirname, join } from "node:path";
import { parse as parseJunit } from "junit2json";
import { describe, expect, it } from "vitest";
import type { trainerAuditJson } from "../reports/json.js";

type AuditResult = { trainers: Array<ReturnType<typeof trainerAuditJson>> };

const root = join(import.meta.dirname, "..");
const EXAMPLES = { PYTHONPATH: "trainers/python/examples" };
const EXIT = { pass: 0, fail: 1, error: 2 } as const;
/** A small search space, so that a Python trainer's search and shrinking stay short. */
const SMALL = ["--runs", "5", "--seed", "3", "--max-dataset-size", "40", "--max-epochs", "2"];

/** The environment of a shell the user types into: `node` on PATH, no PYTHONPATH. */
function shellEnv(): NodeJS.ProcessEnv {
  const { PYTHONPATH: _, ...env } = process.env;
  return { ...env, PATH: `${dirname(process.execPath)}${delimiter}${process.env.PATH ?? ""}` };
}

/** The CLI as `node <script> ...args` from `cwd`, with `env` added. */
function cli(args: string[], { cwd = root, env = {}, script = "dist/cli/main.js" } = {}) {
  const run = spawnSync(process.execPath, [script, ...args], {
    cwd,
    encoding: "utf8",
    timeout: 300_000,
    env: { ...shellEnv(), ...env },
  });
  return { code: run.status, stdout: run.stdout, stderr: run.stderr };
}

/** A printed command line run by sh from `cwd`: its exit code. */
function replay(line: string, cwd = root): number | null {
  const run = spawnSync("sh", ["-c", line], {
    cwd,
    encoding: "utf8",
    timeout: 300_000,
    env: shellEnv(),
  });
  return run.status;
}

/** The `  replay: ...` lines of an audit's text output. */
const replayLines = (text: string) =>
  text
    .split("\n")
    .filter((line) => line.startsWith("  replay: "))
    .map((line) => line.slice("  replay: ".length));

describe("a replay command run as printed", () => {
  it("audit docs-loop: the counterexample's replay in the text and the JSON fails the same way", () => {
    const args = ["audit", "--trainer", "docs-loop", "--runs", "10", "--seed", "3"];
    const text = cli(args);
    expect(text.code).toBe(1);
    const [fromText] = replayLines(text.stdout);
    expect(fromText).toMatch(/^node dist\/cli\/main\.js check --trainer docs-loop /);
    expect(replay(fromText ?? "")).toBe(1);
    const json = JSON.parse(cli([...args, "--json"]).stdout) as AuditResult;
    const counterexample = json.trainers[0]?.counterexample;
    expect(counterexample?.replay).toBe(fromText);
    expect(replay(counterexample?.replay ?? "")).toBe(
      EXIT[counterexample?.result.verdict ?? "pass"],
    );
  });

  it("started from another folder, the replay names the script as it is reached from there", () => {
    const dist = join(root, "dist");
    const text = cli(["audit", "--trainer", "docs-loop", "--runs", "10", "--seed", "3"], {
      cwd: dist,
      script: "cli/main.js",
    });
    const [line] = replayLines(text.stdout);
    expect(line).toMatch(/^node cli\/main\.js check --trainer docs-loop /);
    expect(replay(line ?? "", dist)).toBe(1);
    const outside = mkdtempSync(join(tmpdir(), "accumaudit-replay-"));
    const away = cli(["audit", "--trainer", "docs-loop", "--runs", "10", "--seed", "3"], {
      cwd: outside,
      script: join(dist, "cli", "main.js"),
    });
    const [absolute] = replayLines(away.stdout);
    expect(absolute?.startsWith(`node ${join(dist, "cli", "main.js")} check `)).toBe(true);
    expect(replay(absolute ?? "", outside)).toBe(1);
  });

  it("audit of a python:MODULE:FUNCTION trainer: the replay sets the PYTHONPATH its module needed, in the text and the JSON", () => {
    const args = ["audit", "--trainer", "python:my_broken_loop:train", ...SMALL];
    const text = cli(args, { env: EXAMPLES });
    expect(text.code, text.stderr).toBe(1);
    const [fromText] = replayLines(text.stdout);
    expect(fromText).toMatch(
      /^PYTHONPATH=trainers\/python\/examples node dist\/cli\/main\.js check --trainer python:my_broken_loop:train /,
    );
    expect(replay(fromText ?? "")).toBe(1);
    const json = JSON.parse(cli([...args, "--json"], { env: EXAMPLES }).stdout) as AuditResult;
    const counterexample = json.trainers[0]?.counterexample;
    expect(counterexample?.replay).toBe(fromText);
    expect(replay(counterexample?.replay ?? "")).toBe(1);
  });

  it("audit of a trainer that raises: the replay of the case that could not be checked is an error again", () => {
    const args = [
      "audit",
      "--trainer",
      "python:my_failing_loop:train",
      ...SMALL,
      "--timeout",
      "120",
    ];
    const json = JSON.parse(cli([...args, "--json"], { env: EXAMPLES }).stdout) as AuditResult;
    const errorCase = json.trainers[0]?.errorCase;
    expect(errorCase?.replay).toMatch(
      /^PYTHONPATH=trainers\/python\/examples node dist\/cli\/main\.js check --trainer python:my_failing_loop:train .* --timeout 120$/,
    );
    expect(replay(errorCase?.replay ?? "")).toBe(2);
  });

  it("check --junit (docs-loop and two Python examples): the replay of a failed property fails, that of an error errs", async () => {
    const folder = mkdtempSync(join(tmpdir(), "accumaudit-replay-"));
    const scenario = ["--dataset-size", "10", "--batch-size", "2", "--accumulation", "4"];
    for (const [trainer, code] of [
      ["docs-loop", 1],
      ["python:my_broken_loop:train", 1],
      ["python:my_failing_loop:train", 2],
    ] as const) {
      const junit = join(folder, `${code}.xml`);
      const check = cli(["check", "--trainer", trainer, ...scenario, "--junit", junit], {
        env: EXAMPLES,
      });
      expect(check.code, check.stdout + check.stderr).toBe(code);
      const parsed = await parseJunit(readFileSync(junit, "utf8"));
      const cases = parsed && "testsuite" in parsed ? (parsed.testsuite?.[0]?.testcase ?? []) : [];
      const body = cases.flatMap((c) => [...(c.failure ?? []), ...(c.error ?? [])])[0]?.inner ?? "";
      const line = body
        .split("\n")
        .find((l) => l.startsWith("replay: "))
        ?.slice("replay: ".length);
      expect(line).toBe(
        `${trainer.startsWith("python:") ? "PYTHONPATH=trainers/python/examples " : ""}node dist/cli/main.js check --trainer ${trainer} ${scenario.join(" ")}`,
      );
      expect(replay(line ?? "")).toBe(code);
    }
  });
});
