import { execFileSync } from "node:child_process";
import { lstat, mkdtemp, readFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import type { TrainerAuditOutcome } from "../properties/outcome.js";
import { type FileContents, FileReporter } from "./file-reporter.js";
import type { RunStart } from "./reporter.js";

/** A reporter whose file says how many trainers it holds, and how often it was rendered. */
function countingReporter(path: string) {
  const renders: number[] = [];
  const reporter = new FileReporter(path, "count", ({ audits }: FileContents) => {
    renders.push(audits.length);
    return `<audits n="${audits.length}"/>\n`;
  });
  return { reporter, renders };
}

// The reporter only counts the outcomes it is given and never looks inside them.
const run = { kind: "audit" } as RunStart;
const audit = {} as TrainerAuditOutcome;

describe("FileReporter", () => {
  it("rewrites a regular file after every trainer", async () => {
    const path = join(await mkdtemp(join(tmpdir(), "accumaudit-file-")), "audit.xml");
    const { reporter, renders } = countingReporter(path);
    reporter.onRunStart(run);
    await reporter.onTrainerEnd(audit);
    expect(await readFile(path, "utf8")).toBe('<audits n="1"/>\n');
    await reporter.onTrainerEnd(audit);
    await reporter.onRunEnd({ audits: [audit, audit] });
    expect(await readFile(path, "utf8")).toBe('<audits n="2"/>\n');
    expect(renders).toEqual([1, 2]);
  });

  it("writes a FIFO once, at the run's end, so its reader gets one whole file", async () => {
    const fifo = join(await mkdtemp(join(tmpdir(), "accumaudit-file-")), "audit.fifo");
    execFileSync("mkfifo", [fifo]);
    const { reporter, renders } = countingReporter(fifo);
    const received = readFile(fifo, "utf8");
    reporter.onRunStart(run);
    await reporter.onTrainerEnd(audit);
    await reporter.onTrainerEnd(audit);
    expect(renders).toEqual([]);
    await reporter.onRunEnd({ audits: [audit, audit] });
    expect(await received).toBe('<audits n="2"/>\n');
    expect(renders).toEqual([2]);
    expect(reporter.bytes).toBe(16);
    expect((await lstat(fifo)).isFIFO()).toBe(true);
  });
});
