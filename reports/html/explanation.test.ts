import { describe, expect, it } from "vitest";
import { windowingFigures } from "./diagnosis-section.js";
import { explainCheck } from "./explanation.js";
import {
  diagnoseFixture,
  docsLoopDiagnosis,
  noStepDiagnosis,
  passingDiagnosis,
  simulateTrace,
  twoLoopDiagnosis,
} from "./fixtures.js";

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

  it("says 'all' when every step gave a wrong weight", () => {
    // step-at-end on 3/1/2: both windows are divided by K = 2, the second holding one sample.
    const some = explainCheck(
      diagnoseFixture(
        simulateTrace({ datasetSize: 3, batchSize: 1, accumulation: 2 }, "step-at-end"),
      ),
    );
    expect(some).toContain("1 of 2 steps gave some sample a wrong weight");
    // two-loop on 4/3/2 over 2 epochs: each epoch's one window weights per micro-batch (3 and 1).
    const all = explainCheck(
      diagnoseFixture(
        simulateTrace({ datasetSize: 4, batchSize: 3, accumulation: 2, epochs: 2 }, "two-loop"),
      ),
    );
    expect(all).toContain("All 2 steps gave some sample a wrong weight");
  });

  it("says plainly when no step was applied at all", () => {
    const text = explainCheck(noStepDiagnosis());
    expect(text).toBe(
      "With 1 sample, micro-batches of 1 and 2 micro-batches per window over 1 epoch, docs-loop " +
        "applied no optimizer step at all, so its only sample never reached an update; " +
        "1 step was expected, one per window.",
    );
    const many = diagnoseFixture(
      simulateTrace({ datasetSize: 5, batchSize: 2, accumulation: 4, epochs: 3 }, "docs-loop"),
    );
    expect(explainCheck(many)).toContain(
      "and 4 micro-batches per window over 3 epochs, docs-loop applied no optimizer step at all, " +
        "so none of its 5 samples ever reached an update in any of the 3 epochs; 3 steps were expected",
    );
  });

  it("agrees in number when one sample is lost and one window is unmatched", () => {
    // docs-loop on 5/1/4: the fifth micro-batch never steps.
    const d = diagnoseFixture(
      simulateTrace({ datasetSize: 5, batchSize: 1, accumulation: 4 }, "docs-loop"),
    );
    const text = explainCheck(d);
    expect(text).toContain("Epoch 1: 1 sample (4) was lost: no applied step used it.");
    expect(text).toContain(
      "The trainer applied 1 step where 2 windows were expected; 1 window did not match any " +
        "applied step; first, window 2 of epoch 1 (micro-batch 5, 1 sample) was in no applied step.",
    );
    expect(text).not.toMatch(/1 samples|1 windows|1 steps|micro-batches 5–5/);
    const windowing = d.result.properties?.windowing;
    if (!windowing) throw new Error("docs-loop: expected properties");
    expect(windowingFigures(windowing)).toBe(
      "1 applied step and 0 skipped for 2 windows; 1 window unmatched",
    );
  });

  it("uses the singular for one wrongly weighted sample", () => {
    // step-at-end on 1/1/2: the lone sample's window of one is divided by K = 2.
    const d = diagnoseFixture(
      simulateTrace({ datasetSize: 1, batchSize: 1, accumulation: 2 }, "step-at-end"),
    );
    expect(explainCheck(d)).toContain(
      "1 sample (0) got weight 1/2 where sample-count weighting gives 1/1, so its update was 50.0% smaller than it should have been.",
    );
  });

  it("counts one sample in one window when a step holds more than its window", () => {
    // docs-loop on 3/1/2 over 2 epochs: sample 2 of epoch 1 leaks into epoch 2's first step.
    const text = explainCheck(
      diagnoseFixture(
        simulateTrace({ datasetSize: 3, batchSize: 1, accumulation: 2, epochs: 2 }, "docs-loop"),
      ),
    );
    expect(text).toContain("Epoch 1: 1 sample (2) leaked into step 2 (epoch 2).");
    expect(text).toContain("Epoch 2: 1 sample (2) was lost: no applied step used it.");
    expect(text).toContain("(micro-batch 3, 1 sample) best matches step 2, which holds 3 samples");
    expect(text).toContain("the step's other 2 samples got their expected weight");
  });
});
