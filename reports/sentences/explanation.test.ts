import { describe, expect, it } from "vitest";
import {
  docsLoopCheck,
  judge,
  judgeLoop,
  noStepCheck,
  passingCheck,
  twoLoopCheck,
} from "../../test/support/outcomes.js";
import { simulateDataParallelTrace } from "../../test/support/simulated-trace.js";
import { windowingFigures } from "../html/diagnosis-section.js";
import { explainCheck } from "./explanation.js";
import { propertyMessage } from "./index.js";

describe("explainCheck", () => {
  it("names the two-loop's over-weighted micro-batch with its weights and change", () => {
    const text = explainCheck(twoLoopCheck());
    expect(text).toContain(
      "104 samples (896–999) got weight 1/416 where sample-count weighting gives 1/488, so their update was 17.3% bigger",
    );
    expect(text).toContain("384 samples (512–895) got weight 1/512");
    expect(text).toContain("4.7% smaller");
    expect(text).toContain(
      "The step weighted its samples unequally: its largest weight is 23.1% bigger than its smallest.",
    );
  });

  it("counts docs-loop's leaked and lost samples per epoch", () => {
    const text = explainCheck(docsLoopCheck());
    expect(text).toContain("Epoch 1: 14 samples (96–109) leaked into step 4 (epoch 2)");
    expect(text).toContain("Epoch 2: 14 samples (96–109) were lost");
    expect(text).toContain(
      "8 samples of epoch 1 (96–103) got weight 1/32 where sample-count weighting gives 1/14",
    );
  });

  it("says a step's weights were equal but wrong for a tail divided by K", () => {
    // tail-step on 3/1/2: the second window holds one sample, still divided by K = 2.
    const text = explainCheck(
      judgeLoop({ datasetSize: 3, batchSize: 1, accumulation: 2 }, "tail-step"),
    );
    expect(text).toContain(
      "Its weights are equal (1/2 each), but its samples' 1-sample window gives each 1/1.",
    );
  });

  it("says a passing check passed and an error is an error", () => {
    expect(explainCheck(passingCheck())).toContain("applied every sample exactly once per epoch");
    const d = passingCheck();
    expect(
      explainCheck({
        trainer: d.trainer,
        scenario: d.scenario,
        verdict: "error",
        error: { kind: "trainer", message: "boom" },
      }),
    ).toBe("reference could not be checked: boom.");
  });

  it("says 'all' when every step gave a wrong weight", () => {
    const some = explainCheck(
      judgeLoop({ datasetSize: 3, batchSize: 1, accumulation: 2 }, "tail-step"),
    );
    expect(some).toContain("1 of 2 steps gave some sample a wrong weight");
    // two-loop on 4/3/2 over 2 epochs: each epoch's one window weights per micro-batch (3 and 1).
    const all = explainCheck(
      judgeLoop({ datasetSize: 4, batchSize: 3, accumulation: 2, epochs: 2 }, "two-loop"),
    );
    expect(all).toContain("All 2 steps gave some sample a wrong weight");
  });

  it("says plainly when no step was applied at all", () => {
    expect(explainCheck(noStepCheck())).toBe(
      "With 1 sample, micro-batches of 1 and 2 micro-batches per window over 1 epoch, docs-loop " +
        "applied no optimizer step at all, so its only sample never reached an update; " +
        "1 step was expected, one per window.",
    );
    const many = judgeLoop(
      { datasetSize: 5, batchSize: 2, accumulation: 4, epochs: 3 },
      "docs-loop",
    );
    expect(explainCheck(many)).toContain(
      "and 4 micro-batches per window over 3 epochs, docs-loop applied no optimizer step at all, " +
        "so none of its 5 samples ever reached an update in any of the 3 epochs; 3 steps were expected",
    );
  });

  it("agrees in number when one sample is lost and one window is unmatched", () => {
    // docs-loop on 5/1/4: the fifth micro-batch never steps.
    const d = judgeLoop({ datasetSize: 5, batchSize: 1, accumulation: 4 }, "docs-loop");
    const text = explainCheck(d);
    expect(text).toContain("Epoch 1: 1 sample (4) was lost: no applied step used it.");
    expect(text).toContain(
      "The trainer applied 1 step where 2 windows were expected; 1 window did not match any " +
        "applied step; first, window 2 of epoch 1 (micro-batch 5, 1 sample) was in no applied step.",
    );
    expect(text).not.toMatch(/1 samples|1 windows|1 steps|micro-batches 5–5/);
    expect(windowingFigures(d.properties.windowing)).toBe(
      "1 applied step and 0 skipped for 2 windows; 1 window unmatched",
    );
  });

  it("uses the singular for one wrongly weighted sample", () => {
    // tail-step on 1/1/2: the lone sample's window of one is divided by K = 2.
    const d = judgeLoop({ datasetSize: 1, batchSize: 1, accumulation: 2 }, "tail-step");
    expect(explainCheck(d)).toContain(
      "1 sample (0) got weight 1/2 where sample-count weighting gives 1/1, so its update was 50.0% smaller than it should have been.",
    );
  });

  it("counts one sample in one window when a step holds more than its window", () => {
    // docs-loop on 3/1/2 over 2 epochs: sample 2 of epoch 1 leaks into epoch 2's first step.
    const text = explainCheck(
      judgeLoop({ datasetSize: 3, batchSize: 1, accumulation: 2, epochs: 2 }, "docs-loop"),
    );
    expect(text).toContain("Epoch 1: 1 sample (2) leaked into step 2 (epoch 2).");
    expect(text).toContain("Epoch 2: 1 sample (2) was lost: no applied step used it.");
    expect(text).toContain("(micro-batch 3, 1 sample) best matches step 2, which holds 3 samples");
    expect(text).toContain("the step's other 2 samples got their expected weight");
  });
});

describe("explainCheck across ranks", () => {
  it("attributes a sample used twice to the sampler's padding and names the ranks", () => {
    const check = judge(
      simulateDataParallelTrace(
        { datasetSize: 11, batchSize: 2, accumulation: 3, worldSize: 2 },
        "ddp-tail-step",
      ),
    );
    const text = explainCheck(check);
    expect(text).toMatch(
      /^With 11 samples on 2 ranks, micro-batches of 2 and 3 micro-batches per rank per window/,
    );
    expect(text).toContain(
      "Epoch 1: 1 sample (0) was used twice, on ranks 0 and 1: the sampler padded a shard with it so that every rank gets as many samples, and the step gave it a second share of weight.",
    );
    expect(propertyMessage(check, "coverage")).toBe(
      "epoch 1: 10 of 11 applied in their epoch; 1 sample used twice (0), on ranks 0 and 1: the sampler padded a shard with it",
    );
  });

  it("says which ranks fed the samples a data-parallel loop leaked or lost", () => {
    const check = judge(
      simulateDataParallelTrace(
        { datasetSize: 20, batchSize: 2, accumulation: 2, epochs: 2, worldSize: 2 },
        "ddp-docs-loop",
      ),
    );
    expect(propertyMessage(check, "coverage")).toBe(
      "epoch 1: 16 of 20 applied in their epoch; 4 samples leaked into epoch 2 (16–19, fed by ranks 0 and 1) | epoch 2: 16 of 20 applied in their epoch; 4 samples never applied (16–19, fed by ranks 0 and 1)",
    );
  });

  it("says the replicas drifted apart when one rank applied another gradient", () => {
    const trace = simulateDataParallelTrace(
      { datasetSize: 8, batchSize: 2, accumulation: 2, worldSize: 2 },
      "ddp-reference",
    );
    const step = trace.replicas?.[0]?.steps[0];
    if (!step) throw new Error("expected rank 1's first step");
    step.fingerprint.weights[0] = 1;
    const check = judge(trace);
    expect(propertyMessage(check, "replicas")).toBe(
      "at step 1 (epoch 1) rank 1's fingerprint weights differ from rank 0's by 7 relative > tolerance",
    );
    expect(explainCheck(check)).toContain(
      "The replicas drifted apart: at step 1 (epoch 1) rank 1's",
    );
  });
});
