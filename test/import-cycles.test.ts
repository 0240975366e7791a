/**
 * No import cycle among the project's modules (STYLE.md: imports point down cli → reports →
 * properties → reference → trainers/contract). scripts/import-cycles.mjs finds them; it is shown
 * here to find one when there is one, through every form of import the project writes.
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";

const root = join(import.meta.dirname, "..");
const script = join(root, "scripts", "import-cycles.mjs");
const folders: string[] = [];

function cyclesIn(folder?: string) {
  const run = spawnSync(process.execPath, [script, ...(folder ? [folder] : [])], {
    encoding: "utf8",
  });
  return { status: run.status, stdout: run.stdout, stderr: run.stderr };
}

/** A folder of modules, each given by its file name and source. */
function modules(files: Record<string, string>): string {
  const folder = mkdtempSync(join(tmpdir(), "accumaudit-cycles-"));
  folders.push(folder);
  for (const [name, source] of Object.entries(files)) writeFileSync(join(folder, name), source);
  return folder;
}

afterAll(() => {
  for (const folder of folders) rmSync(folder, { recursive: true, force: true });
});

describe("scripts/import-cycles.mjs", () => {
  it("finds no import cycle in the project", () => {
    const run = cyclesIn();
    expect(run.stdout).toMatch(/^\d{3,} modules, \d+ relative imports, 0 import cycles\n$/);
    expect(run.status, run.stdout + run.stderr).toBe(0);
  });

  it("finds a cycle of type imports spread over lines, and names its modules", () => {
    const folder = modules({
      "advice.ts":
        'import {\n  cause,\n  type Cause,\n} from "./causes.js";\nexport const a = 1;\n',
      "causes.ts": 'import type { Advice } from "./advice.js";\nexport const cause = 1;\n',
      "alone.ts": 'import { a } from "./advice.js";\n',
    });
    const run = cyclesIn(folder);
    expect(run.status).toBe(1);
    expect(run.stdout).toContain("3 modules, 3 relative imports, 1 import cycle\n");
    expect(run.stdout).toContain("cycle: advice.ts <-> causes.ts\n");
  });

  it("follows re-exports and finds a longer cycle", () => {
    const folder = modules({
      "a.ts": 'export { b } from "./b.js";\n',
      "b.ts": 'export * from "./c.js";\nexport const b = 1;\n',
      "c.ts": 'import "./a.js";\n',
    });
    const run = cyclesIn(folder);
    expect(run.status).toBe(1);
    expect(run.stdout).toContain("cycle: a.ts <-> b.ts <-> c.ts\n");
  });
});
