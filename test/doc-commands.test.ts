/**
 * Every command that the README and the pages in docs/ show runs as written, from a folder that
 * holds the checkout (links to its files, so that what a command writes, a report or a JUnit file,
 * lands there and not in the repository), ends with the exit code the page gives, and prints what
 * the page shows below it (test/support/documented-commands.ts: where the page writes "...",
 * anything may stand). A page leaves a command out only with `<!-- not run: REASON -->` above its
 * block, and only the commands NOT_RUN names may be left out. trainers/python/API.md's commands
 * have their own test (test/api-doc-commands.test.ts).
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  type DocumentedCommand,
  documentedCommands,
  matchesShown,
} from "./support/documented-commands.js";

const root = join(import.meta.dirname, "..");
const PAGES = [
  "README.md",
  ...readdirSync(join(root, "docs"))
    .filter((name) => name.endsWith(".md"))
    .sort()
    .map((name) => `docs/${name}`),
];

/** The commands the pages mark as not run, and the only ones: a new one is left out on purpose. */
const NOT_RUN = [
  "README.md: npm ci && node dist/cli/main.js audit --report accumaudit-report.html",
  "README.md: npm ci && npm run setup && npm test",
  "docs/benchmarks.md: npm run bench",
  "docs/corpus.md: npx vitest run test/corpus.test.ts",
  "docs/gpu.md: bash scripts/gpu-bundle.sh",
  "docs/gpu.md: DEVICE=cuda BACKEND=webgpu OUT=gpu-out bash scripts/gpu-checks.sh",
  "docs/reports.md: npm run screenshot",
];

interface PageCommand extends DocumentedCommand {
  page: string;
}

const commands: PageCommand[] = PAGES.flatMap((page) =>
  documentedCommands(readFileSync(join(root, page), "utf8")).map((c) => ({ ...c, page })),
);
const run = commands.filter((c) => c.notRun === null);
const left = commands.filter((c) => c.notRun !== null);

let folder: string;

beforeAll(() => {
  folder = mkdtempSync(join(tmpdir(), "accumaudit-doc-commands-"));
  for (const entry of readdirSync(root))
    if (entry !== ".git") symlinkSync(join(root, entry), join(folder, entry));
});

afterAll(() => {
  if (folder) rmSync(folder, { recursive: true, force: true });
});

/** The environment of a shell a reader opens: the test runner's own variables left out. */
function readerEnvironment(): NodeJS.ProcessEnv {
  return Object.fromEntries(
    Object.entries(process.env).filter(([name]) => !name.startsWith("VITEST")),
  );
}

describe("the commands the README and docs/ show", () => {
  it("finds commands on the pages, and leaves out only those NOT_RUN names", () => {
    expect(run.length).toBeGreaterThan(10);
    expect(left.map((c) => `${c.page}: ${c.command}`)).toEqual(NOT_RUN);
  });

  it.each(run.map((c) => [`${c.page}:${c.line} ${c.command}`, c] as const))(
    "%s runs as written and prints what the page shows",
    { timeout: 300_000 },
    (_name, c) => {
      const result = spawnSync("bash", ["-c", c.command], {
        cwd: folder,
        encoding: "utf8",
        timeout: 290_000,
        env: readerEnvironment(),
      });
      const output = [result.stdout.trimEnd(), result.stderr.trimEnd()].filter(Boolean).join("\n");
      expect(result.status, output.slice(-4000)).toBe(c.expectedExit);
      const lines = output.split("\n");
      for (const [i, documented] of (c.shown ?? []).entries())
        expect(
          matchesShown(lines[i] ?? "", documented),
          `line ${i + 1}: ${lines[i]}\npage: ${documented}`,
        ).toBe(true);
    },
  );
});
