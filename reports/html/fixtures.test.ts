import { describe, expect, it } from "vitest";
import {
  docsLoopDiagnosis,
  largeDiagnosis,
  passingDiagnosis,
  twoLoopDiagnosis,
} from "./fixtures.js";

describe("fixtures", () => {
  it("docs-loop on 110/8/4 leaks 96..109 of epoch 0 into step 3 and loses them in epoch 1", () => {
    const d = docsLoopDiagnosis();
    expect(d.steps).toHaveLength(6);
    const step3 = d.trace?.steps[3];
    const leaked = step3?.fingerprint.samples.filter((_, k) => step3.fingerprint.epochs[k] === 0);
    expect(leaked).toEqual(Array.from({ length: 14 }, (_, k) => 96 + k));
    const w = step3?.fingerprint.weights;
    expect(w?.[0]).toBeCloseTo(1 / 32, 12);
    expect(w?.[13]).toBeCloseTo(1 / 24, 12);
    expect(d.occurrenceStatus[0]?.slice(96).every((s) => s === "leaked")).toBe(true);
    expect(d.occurrenceStatus[1]?.slice(96).every((s) => s === "lost")).toBe(true);
    expect(d.expectedWeight[1]?.[100]).toBeCloseTo(1 / 14, 12);
    expect(d.result.verdict).toBe("fail");
  });

  it("two-loop on 1000/128/4 gives 104 samples 1/416 against 1/488", () => {
    const d = twoLoopDiagnosis();
    const weighting = d.result.properties?.weighting;
    expect(weighting?.maxRelError).toBeCloseTo(488 / 416 - 1, 9);
    expect(weighting?.worst?.windowSize).toBe(488);
    expect(d.result.properties?.coverage.ok).toBe(true);
    expect(d.steps[1]?.bodyRelError).toBeGreaterThan(0.001);
  });

  it("the reference passes and the large case is N = 10,000", () => {
    expect(passingDiagnosis().result.verdict).toBe("pass");
    const large = largeDiagnosis();
    expect(large.occurrenceStatus[0]).toHaveLength(10_000);
    expect(large.result.verdict).toBe("fail");
  });
});
