import { describe, expect, it } from "vitest";
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
  const progress = { trainer: "reference", phase: "search" as const, cases: 7, runs: 300 };

  it("rewrites one line on a terminal, cut to its width", () => {
    const { stream, written } = fakeStream(true, 18);
    new ProgressLine(true, stream).onProgress(progress);
    expect(written).toEqual(["\r\x1b[2Kreference: scenar"]);
  });

  it("keeps the whole line when the terminal reports no width", () => {
    const { stream, written } = fakeStream(true, 0);
    new ProgressLine(true, stream).onProgress(progress);
    expect(written).toEqual(["\r\x1b[2Kreference: scenario 7/300"]);
  });

  it("writes nothing off a terminal or when disabled (--json)", () => {
    const pipe = fakeStream(false, 80);
    new ProgressLine(true, pipe.stream).onProgress(progress);
    const json = fakeStream(true, 80);
    new ProgressLine(false, json.stream).onProgress(progress);
    expect([...pipe.written, ...json.written]).toEqual([]);
  });
});
