import { describe, expect, it } from "vitest";
import type { AuditProgress, CaseProgress } from "../properties/audit.js";
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

describe("ProgressLine, a long case's training", () => {
  const started: AuditProgress = {
    trainer: "python:reference",
    phase: "check",
    cases: 1,
    runs: 1,
    state: "started",
  };
  const at = (epoch: number, microBatch: number): CaseProgress => ({
    trainer: "python:reference",
    phase: "check",
    cases: 1,
    runs: 1,
    run: { sampling: "epochs", epoch, epochs: 2, microBatch, microBatches: 1000, steps: 0 },
  });

  function caseLine(isTTY = true, enabled = true) {
    const { stream, written } = fakeStream(isTTY, 0);
    const clock = { now: 1_000_000 };
    const line = new ProgressLine(enabled, stream, () => clock.now);
    line.onProgress(started);
    return { line, written, clock };
  }

  it("gives the epoch and micro-batch reached, then an estimate of the time left, without the timer", () => {
    const { line, written, clock } = caseLine();
    clock.now += 1000;
    line.onCaseProgress(at(0, 1)); // the first micro-batch, 1 s into the case: the line waits 2 s
    clock.now += 1500;
    line.onCaseProgress(at(0, 9)); // 2.5 s: where it stands, no estimate yet (0.5 s of training)
    clock.now += 500;
    line.onCaseProgress(at(0, 12)); // less than a second after the last rewrite: kept, not written
    clock.now += 18_000;
    line.onCaseProgress(at(0, 401)); // 20 s of training for 0.2 of the run: 80 s to go
    expect(written).toEqual([
      "\r\x1b[2Kpython:reference: checking",
      "\r\x1b[2Kpython:reference: checking, epoch 1/2, micro-batch 9/1,000, 0:02 elapsed",
      "\r\x1b[2Kpython:reference: checking, epoch 1/2, micro-batch 401/1,000, 0:21 elapsed, about 1:20 left",
    ]);
    clock.now += 10_000;
    line.beat(); // the timer, 10 s later and no report since: 10 s less to go
    expect(written.at(-1)).toBe(
      "\r\x1b[2Kpython:reference: checking, epoch 1/2, micro-batch 401/1,000, 0:31 elapsed, about 1:10 left",
    );
    clock.now += 70_000;
    line.beat(); // past the estimate: the last micro-batches, the trace, the check
    expect(written.at(-1)).toBe(
      "\r\x1b[2Kpython:reference: checking, epoch 1/2, micro-batch 401/1,000, 1:41 elapsed, finishing",
    );
  });

  it("shows a run that draws with replacement by its steps", () => {
    const { line, written, clock } = caseLine();
    clock.now += 3000;
    const run = {
      sampling: "replacement",
      microBatch: 40,
      microBatches: 3000,
      steps: 10,
      totalSteps: 750,
    } as const;
    line.onCaseProgress({ ...at(0, 0), run });
    expect(written.at(-1)).toBe(
      "\r\x1b[2Kpython:reference: checking, step 10/750, micro-batch 40/3,000, 0:03 elapsed",
    );
  });

  it("shows nothing of another case (an audit's parallel job) or of a case that has ended", () => {
    const { line, written, clock } = caseLine();
    clock.now += 3000;
    line.onCaseProgress({ ...at(0, 5), cases: 2 });
    line.onProgress({ ...started, state: "finished", verdict: "pass" });
    line.onCaseProgress(at(0, 6));
    line.beat();
    expect(written.filter((text) => text.includes("micro-batch"))).toEqual([]);
  });

  it("writes nothing off a terminal or when disabled (--json)", () => {
    for (const [isTTY, enabled] of [
      [false, true],
      [true, false],
    ]) {
      const { line, written, clock } = caseLine(isTTY, enabled);
      clock.now += 3000;
      line.onCaseProgress(at(0, 5));
      line.beat();
      expect(written).toEqual([]);
    }
  });
});
