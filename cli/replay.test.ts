import { execFileSync } from "node:child_process";
import { chmodSync, mkdirSync, mkdtempSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { parseScenario } from "../trainers/contract/scenario.js";
import { programWords, replayCommand, shellWord } from "./replay.js";
import { runContextFromFlags } from "./run-context.js";

const scenario = parseScenario({ datasetSize: 3, batchSize: 2, accumulation: 2 });
const SHAPE = "--dataset-size 3 --batch-size 2 --accumulation 2";

/** A package installed at `<root>/<prefix>/lib/node_modules/accumaudit`, its bin linked as npm links it. */
function installed(binFolder: string): { root: string; script: string; bin: string } {
  const root = mkdtempSync(join(tmpdir(), "accumaudit-replay-"));
  const main = join(root, "lib", "node_modules", "accumaudit", "dist", "cli", "main.js");
  mkdirSync(join(main, ".."), { recursive: true });
  writeFileSync(main, "#!/usr/bin/env node\n");
  chmodSync(main, 0o755);
  const bin = join(root, binFolder);
  mkdirSync(bin, { recursive: true });
  symlinkSync(main, join(bin, "accumaudit"));
  return { root, script: join(bin, "accumaudit"), bin };
}

describe("the program a replay command starts", () => {
  it("is node and the script's path from a checkout: relative below the folder the run started in, else absolute", () => {
    const script = "/home/me/accumaudit/dist/cli/main.js";
    expect(programWords({ script, cwd: "/home/me/accumaudit", env: {} })).toEqual([
      "node",
      "dist/cli/main.js",
    ]);
    expect(programWords({ script, cwd: "/home/me/accumaudit/dist", env: {} })).toEqual([
      "node",
      "cli/main.js",
    ]);
    expect(programWords({ script, cwd: "/home/me/project", env: {} })).toEqual(["node", script]);
  });

  it("is accumaudit for the bin that PATH finds first, and the bin's path when PATH finds another or none", () => {
    const { script, bin, root } = installed("bin");
    expect(programWords({ script, cwd: "/", env: { PATH: `/nowhere:${bin}:/usr/bin` } })).toEqual([
      "accumaudit",
    ]);
    const other = installed("bin");
    expect(programWords({ script, cwd: other.root, env: { PATH: `${other.bin}:${bin}` } })).toEqual(
      ["node", script],
    );
    expect(programWords({ script, cwd: root, env: { PATH: "/usr/bin" } })).toEqual([
      "node",
      "bin/accumaudit",
    ]);
  });

  it("is npx accumaudit for a project's node_modules/.bin, run from within the project", () => {
    const { script, root } = installed(join("node_modules", ".bin"));
    const env = { PATH: join(root, "node_modules", ".bin") };
    expect(programWords({ script, cwd: root, env })).toEqual(["npx", "accumaudit"]);
    expect(programWords({ script, cwd: join(root, "lib"), env })).toEqual(["npx", "accumaudit"]);
    expect(programWords({ script, cwd: installed("bin").root, env })).toEqual(["node", script]);
  });

  it("is accumaudit when the script is unknown", () => {
    expect(programWords({ script: undefined, cwd: "/", env: {} })).toEqual(["accumaudit"]);
  });
});

describe("a replay command", () => {
  const env = {
    PYTHONPATH: "trainers/python/examples",
    ACCUMAUDIT_PYTHON: "/opt/my env/bin/python",
    KERAS_BACKEND: "torch",
    CUDA_VISIBLE_DEVICES: "1",
    HOME: "/home/me",
  };

  it("sets again the variables a python:MODULE:FUNCTION trainer's worker read, quoted as a shell reads them", () => {
    const replay = replayCommand({ program: ["node", "dist/cli/main.js"], env });
    expect(replay("python:my_broken_loop:train", scenario)).toBe(
      `PYTHONPATH=trainers/python/examples ACCUMAUDIT_PYTHON='/opt/my env/bin/python' KERAS_BACKEND=torch node dist/cli/main.js check --trainer python:my_broken_loop:train ${SHAPE}`,
    );
    // A registry trainer imports nothing from PYTHONPATH; a built-in one starts no worker.
    expect(replay("python:lightning", scenario)).toMatch(
      /^ACCUMAUDIT_PYTHON=.* KERAS_BACKEND=torch node /,
    );
    expect(replay("docs-loop", scenario)).toBe(
      `node dist/cli/main.js check --trainer docs-loop ${SHAPE}`,
    );
  });

  it("gives each trainer the run flags that apply to it: --backend to a built-in one, --python, --device and --timeout to a python: one", () => {
    const replay = replayCommand({
      env,
      backend: "wasm",
      python: ".venv/bin/python",
      device: "cuda",
      timeout: "30",
    });
    expect(replay("docs-loop", scenario)).toBe(
      `accumaudit check --trainer docs-loop ${SHAPE} --backend wasm`,
    );
    expect(replay("python:my_loop:train", scenario)).toBe(
      `PYTHONPATH=trainers/python/examples KERAS_BACKEND=torch CUDA_VISIBLE_DEVICES=1 accumaudit check --trainer python:my_loop:train ${SHAPE} --python .venv/bin/python --device cuda --timeout 30`,
    );
  });

  it("from the command line's flags: --timeout only when it is not the default, as seconds", () => {
    const invocation = { script: "/repo/dist/cli/main.js", cwd: "/repo", env: {} };
    const replay = (values: Record<string, string>) =>
      runContextFromFlags(values, invocation).replay("python:m:f", scenario);
    expect(replay({ timeout: "600" })).toBe(
      `node dist/cli/main.js check --trainer python:m:f ${SHAPE}`,
    );
    expect(replay({ timeout: "2.5", python: "py" })).toBe(
      `node dist/cli/main.js check --trainer python:m:f ${SHAPE} --python py --timeout 2.5`,
    );
  });
});

describe("shellWord", () => {
  it.each([
    ["plain/path-1.0:x", "plain/path-1.0:x"],
    ["it's here", "'it'\\''s here'"],
    ["name\u001b[2J\nPASS  forged", "$'name\\x1b[2J\\nPASS  forged'"],
    ["it's \\ \r\u009b\u202e", "$'it\\'s \\\\ \\r\\u009b\\u202e'"],
  ])("quotes %j as %s, which bash reads back as it was, on one line", (word, quoted) => {
    expect(shellWord(word)).toBe(quoted);
    // bash writes \\uHHHH in a UTF-8 locale only.
    const env = { ...process.env, LC_ALL: "C.UTF-8" };
    expect(execFileSync("bash", ["-c", `printf %s ${quoted}`], { encoding: "utf8", env })).toBe(
      word,
    );
  });
});
