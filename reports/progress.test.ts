import { describe, expect, it } from "vitest";
import type { AuditProgress } from "../properties/audit.js";
import { ProgressLine } from "./progress.js";

function fakeStream(isTTY: boolean, columns: number | undefined) {
  const written: string[] = [];
  const stream = {
    isTTY,
    columns,
    write: (text: string) => written.push(text) > 0,
  } as unknown as NodeJS.WriteStream;
  return { stream, written };
}

describe("ProgressLine", () => {
  const progress: AuditProgress = {
    trainer: "reference",
    phase: "search",
    cases: 7,
    runs: 300,
    state: "finished",
  };

  it("rewrites one line on a terminal, cut to its width", () => {
    const { stream, written } = fakeStream(true, 18);
    new ProgressLine(true, stream).onProgress(progress);
    expect(written).toEqual(["\r\x1b[2Kreference: case 7"]);
  });

  it("shows a trainer name's control characters escaped: only the line's own reset reaches the terminal", () => {
    const { stream, written } = fakeStream(true, 0);
    new ProgressLine(true, stream).onProgress({ ...progress, trainer: "python:m:f\x1b[2J\nPASS" });
    expect(written).toEqual(["\r\x1b[2Kpython:m:f\\x1b[2J\\nPASS: case 7 of 300"]);
  });

  it("keeps the whole line when the terminal reports no width", () => {
    const { stream, written } = fakeStream(true, 0);
    new ProgressLine(true, stream).onProgress(progress);
    expect(written).toEqual(["\r\x1b[2Kreference: case 7 of 300"]);
  });

  it("says how long a case has run once it runs for a while, and stops when the trainer ends", () => {
    const { stream, written } = fakeStream(true, 0);
    let now = 1_000_000;
    const line = new ProgressLine(true, stream, () => now);
    line.onProgress({ ...progress, cases: 3, runs: 100, state: "started" });
    now += 1500;
    line.beat();
    now += 38_600;
    line.beat();
    line.onTrainerEnd();
    line.beat();
    expect(written).toEqual([
      "\r\x1b[2Kreference: case 3 of 100",
      "\r\x1b[2Kreference: case 3 of 100, running for 40 s",
      "\r\x1b[2K",
    ]);
  });

  it("writes nothing off a terminal or when disabled (--json)", () => {
    const pipe = fakeStream(false, 80);
    new ProgressLine(true, pipe.stream).onProgress(progress);
    const json = fakeStream(true, 80);
    new ProgressLine(false, json.stream).onProgress(progress);
    expect([...pipe.written, ...json.written]).toEqual([]);
  });
});
