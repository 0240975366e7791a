import { describe, expect, it } from "vitest";
import { explainCheck } from "./explanation.js";
import { docsLoopDiagnosis, passingDiagnosis, twoLoopDiagnosis } from "./fixtures.js";

describe("explainCheck", () => {
  it("names the two-loop's over-weighted micro-batch with its weights and change", () => {
    const text = explainCheck(twoLoopDiagnosis());
    console.log(text);
    expect(text).toContain("104 samples (896–999) got weight 1/416");
    expect(text).toContain("gives 1/488");
    expect(text).toContain("17.3% bigger");
    expect(text).toContain("384 samples (512–895) got weight 1/512");
    expect(text).toContain("4.7% smaller");
  });

  it("counts docs-loop's leaked and lost samples per epoch", () => {
    const text = explainCheck(docsLoopDiagnosis());
    console.log(text);
    expect(text).toContain("Epoch 1: 14 samples (96–109) leaked into step 4 (epoch 2)");
    expect(text).toContain("Epoch 2: 14 samples (96–109) were lost");
    expect(text).toContain(
      "8 samples of epoch 1 (96–103) got weight 1/32 where sample-count weighting gives 1/14",
    );
  });

  it("says a passing check passed and an error is an error", () => {
    expect(explainCheck(passingDiagnosis())).toContain(
      "applied every sample exactly once per epoch",
    );
    const d = passingDiagnosis();
    const error = {
      ...d,
      result: { ...d.result, verdict: "error" as const, properties: null, error: "boom" },
    };
    expect(explainCheck(error)).toBe("reference could not be checked: boom.");
  });
});
