/**
 * An error in a user's trainer is located in the user's own code in every output (text, JSON,
 * HTML), also when torch reaches the worker's interpreter through a .pth file (a virtual
 * environment whose site-packages adds another environment's): torch's frames are never named.
 * trainers/python/tests/test_frames.py covers the other layouts (symlinks, pip install --target,
 * editable installs).
 */
import { execFileSync, spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { locatePython } from "../trainers/external/interpreter.js";

const root = join(import.meta.dirname, "..");
const folder = mkdtempSync(join(tmpdir(), "accumaudit-locations-"));
const userFile = join(folder, "user", "torch_user.py");
const python = join(folder, "venv", "bin", "python");
const CALL = "torch.nn.functional.cross_entropy(logits, torch.zeros(5, dtype=torch.long))";

beforeAll(() => {
  const base = locatePython();
  const sitePackages = execFileSync(base, [
    "-c",
    "import sysconfig; print(sysconfig.get_paths()['purelib'])",
  ])
    .toString()
    .trim();
  execFileSync(base, ["-m", "venv", "--without-pip", join(folder, "venv")]);
  const lib = join(folder, "venv", "lib");
  const site = join(lib, readdirSync(lib).find((name) => name.startsWith("python")) ?? "");
  writeFileSync(join(site, "site-packages", "shared-libraries.pth"), `${sitePackages}\n`);
  mkdirSync(join(folder, "user"));
  writeFileSync(
    userFile,
    [
      "import torch",
      "",
      "",
      "def train(ctx):",
      "    logits = torch.zeros(4, 3)",
      `    ${CALL}`,
      "",
    ].join("\n"),
  );
});

afterAll(() => rmSync(folder, { recursive: true, force: true }));

function check(...flags: string[]) {
  const run = spawnSync(
    process.execPath,
    [
      "dist/cli/main.js",
      "check",
      "--trainer",
      "python:torch_user:train",
      "--dataset-size",
      "8",
      "--batch-size",
      "4",
      "--accumulation",
      "2",
      "--python",
      python,
      ...flags,
    ],
    {
      cwd: root,
      encoding: "utf8",
      timeout: 300_000,
      env: { ...process.env, PYTHONPATH: join(folder, "user") },
    },
  );
  return { code: run.status, stdout: run.stdout, stderr: run.stderr };
}

describe("an error raised inside torch, reached through a .pth file", () => {
  it("is located at the user's frame in the text, the JSON and the HTML report", () => {
    const report = join(folder, "report.html");
    const text = check("--report", report);
    expect(text.code, text.stderr).toBe(2);
    expect(text.stdout).toMatch(
      /^ {2}error: python:torch_user:train: worker: ValueError: Expected input batch_size \(4\) to match target batch_size \(5\)\. \(torch_user\.py:6 in train\)$/m,
    );
    const frames = text.stdout.split("  in your code (outermost first):\n")[1]?.split("\n");
    expect(frames?.[0]).toBe(`    ${userFile}:6 in train: ${CALL}`);
    expect(frames?.[1] ?? "").not.toMatch(/^ {4}\S/);
    expect(text.stdout).not.toContain("functional.py");
    const html = readFileSync(report, "utf8");
    expect(html).toContain(
      `<p>In your code, outermost first:</p><pre><code>${userFile}:6 in train:`,
    );
    expect(html).not.toContain("functional.py");

    const json = JSON.parse(check("--json").stdout) as {
      error: string;
      traceback: Array<{ file: string; line: number; function: string }>;
    };
    expect(json.error).toMatch(/\(torch_user\.py:6 in train\)$/);
    expect(json.traceback.map((f) => [f.file, f.line, f.function])).toEqual([
      [userFile, 6, "train"],
    ]);
  });
});
