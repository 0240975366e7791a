/**
 * The newcomer's path through trainers/python/API.md: every `check` command it shows runs from the
 * repository root as written, and what it prints matches the output the page shows (where the page
 * writes "...", anything may stand).
 */
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { matchesShown as matches } from "./support/documented-commands.js";

const root = join(import.meta.dirname, "..");
const page = readFileSync(join(root, "trainers", "python", "API.md"), "utf8");

interface DocumentedRun {
  env: Record<string, string>;
  args: string[];
  /** The output block right below the command on the page, if any. */
  shown: string[] | null;
}

/** Each `VAR=value ... node dist/cli/main.js check ...` line of a sh block, with the text block after it. */
function documentedRuns(): DocumentedRun[] {
  const blocks = [...page.matchAll(/```(\w*)\n([\s\S]*?)```/g)].map((m) => ({
    kind: m[1],
    body: (m[2] ?? "").trimEnd(),
    start: m.index,
    end: m.index + m[0].length,
  }));
  const runs: DocumentedRun[] = [];
  blocks.forEach((block, i) => {
    if (block.kind !== "sh") return;
    const next = blocks[i + 1];
    for (const line of block.body.split("\n")) {
      const words = line.trim().split(/\s+/);
      const node = words.indexOf("node");
      if (node < 0 || words[node + 1] !== "dist/cli/main.js" || words[node + 2] !== "check")
        continue;
      const env = Object.fromEntries(
        words.slice(0, node).map((w) => w.split("=", 2) as [string, string]),
      );
      runs.push({
        env,
        args: words.slice(node + 1),
        shown:
          next?.kind === "text" && page.slice(block.end, next.start).trim() === ""
            ? next.body.split("\n")
            : null,
      });
    }
  });
  return runs;
}

const runs = documentedRuns();

describe("trainers/python/API.md's commands", () => {
  it("finds the page's check commands", () => {
    expect(runs.map((r) => r.args[3])).toEqual([
      "python:my_correct_loop:train",
      "python:my_broken_loop:train",
      "python:my_correct_loop:train",
      "python:my_replacement_loop:train",
      "python:my_scheduled_loop:train",
      "python:my_own_optimizer:train",
      "python:my_own_optimizer:train_by_change",
      "python:my_failing_loop:train",
      "python:my_ddp_loop:train",
    ]);
  });

  it.each(
    runs.map(
      (r) => [r.args.slice(3, 4).join(" ") + (r.shown ? " (output shown)" : ""), r] as const,
    ),
  )("%s runs as written and prints what the page shows", (_name, run) => {
    const result = spawnSync(process.execPath, run.args, {
      cwd: root,
      encoding: "utf8",
      timeout: 300_000,
      env: { ...process.env, ...run.env },
    });
    const lines = result.stdout.trimEnd().split("\n");
    const expectedCode = { PASS: 0, FAIL: 1, ERROR: 2 }[
      (run.shown?.[0] ?? "PASS").split(" ")[0] as "PASS"
    ];
    expect(result.status, result.stdout + result.stderr).toBe(expectedCode);
    for (const [i, documented] of (run.shown ?? []).entries())
      expect(
        matches(lines[i] ?? "", documented),
        `line ${i + 1}: ${lines[i]}\npage: ${documented}`,
      ).toBe(true);
    if (run.args[3] === "python:my_broken_loop:train") {
      expect(result.stdout).toContain("how to fix it:");
      expect(result.stdout).toContain(
        "The loop to copy: trainers/python/accumaudit_probe/loops/reference.py",
      );
    }
  });
});
