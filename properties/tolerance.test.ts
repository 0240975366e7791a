import { describe, expect, it } from "vitest";
import { parseScenario } from "../trainers/contract/scenario.js";
import {
  largestWindowWithDetectableOffByOne,
  ranPrecision,
  TOLERANCES,
  toleranceFor,
} from "./tolerance.js";

describe("toleranceFor", () => {
  const fp16 = parseScenario({ datasetSize: 8, batchSize: 2, accumulation: 2, precision: "fp16" });

  it("follows the scenario's precision", () => {
    expect(toleranceFor(fp16)).toEqual(TOLERANCES.fp16);
  });

  it("follows the precision that ran when the trainer ran another, tighter or looser", () => {
    expect(toleranceFor(fp16, "bf16")).toEqual(TOLERANCES.bf16);
    expect(toleranceFor(fp16, "fp32")).toEqual(TOLERANCES.fp32);
  });
});

describe("ranPrecision", () => {
  const fp16 = parseScenario({ datasetSize: 8, batchSize: 2, accumulation: 2, precision: "fp16" });

  it("is the trainer's precision when it names one, else the scenario's", () => {
    expect(ranPrecision(fp16, { precision: "fp32" })).toBe("fp32");
    expect(ranPrecision(fp16, {})).toBe("fp16");
    expect(ranPrecision(fp16, undefined)).toBe("fp16");
  });
});

describe("largestWindowWithDetectableOffByOne", () => {
  it.each([
    [1e-4, 9998],
    [1e-2, 98],
    [4e-2, 23],
  ])(
    "at tolerance %d, miscounting a window of up to %d samples by one is detected",
    (tolerance, window) => {
      const n = largestWindowWithDetectableOffByOne(tolerance);
      expect(n).toBe(window);
      expect(1 / (n + 1)).toBeGreaterThan(tolerance);
      expect(1 / (n + 2)).toBeLessThanOrEqual(tolerance);
    },
  );
});
