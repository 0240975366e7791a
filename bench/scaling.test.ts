import { describe, expect, it } from "vitest";
import { growthExponent, type ScalingPoint } from "./scaling.js";

const points = (power: number, sizes: number[]): ScalingPoint[] =>
  sizes.map((datasetSize) => ({
    trainer: "t",
    datasetSize,
    seconds: 1e-4 * datasetSize ** power,
    peakKb: null,
    exitCode: 0,
  }));

describe("growth exponent", () => {
  it("is the slope of log time over log N within the range", () => {
    expect(growthExponent(points(1, [1e3, 1e4, 1e5, 1e6]), 1e4, 1e6)).toBeCloseTo(1, 10);
    expect(growthExponent(points(2, [1e4, 1e5, 1e6]), 1e4, 1e6)).toBeCloseTo(2, 10);
    const bent = [
      ...points(1, [1e4, 1e5]),
      ...points(2, [1e6]).map((p) => ({ ...p, seconds: p.seconds / 1e2 })),
    ];
    expect(growthExponent(bent, 1e4, 1e6)).toBeGreaterThan(1.1);
  });

  it("needs two points in the range", () => {
    expect(growthExponent(points(1, [1e3, 1e4]), 1e4, 1e6)).toBeNull();
  });
});
