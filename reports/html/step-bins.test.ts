import { describe, expect, it } from "vitest";
import { alignedRanges } from "./step-bins.js";

describe("alignedRanges", () => {
  it("keeps every step its own bin when they fit", () => {
    expect(alignedRanges([0, 0, 0, 1, 1, 1], 120)).toEqual([
      [0, 0],
      [1, 1],
      [2, 2],
      [3, 3],
      [4, 4],
      [5, 5],
    ]);
  });

  it("cuts epochs into equal chunks that never straddle an epoch", () => {
    const epochs = Array.from({ length: 520 }, (_, i) => Math.floor(i / 104));
    const ranges = alignedRanges(epochs, 120);
    expect(ranges.length).toBeLessThanOrEqual(120);
    for (const [a, b] of ranges) expect(epochs[a]).toBe(epochs[b]);
    expect(ranges.flat().at(-1)).toBe(519);
  });

  it("groups whole epochs when there are more epochs than bins", () => {
    const epochs = Array.from({ length: 1000 }, (_, i) => i);
    const ranges = alignedRanges(epochs, 120);
    expect(ranges.length).toBeLessThanOrEqual(120);
    expect(ranges[0]).toEqual([0, 8]);
    expect(ranges.at(-1)?.[1]).toBe(999);
  });
});
