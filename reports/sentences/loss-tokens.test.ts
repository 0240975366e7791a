import { describe, expect, it } from "vitest";
import { judge, judgeLoop, twoLoopCheck } from "../../test/support/outcomes.js";
import { simulateDataParallelTrace } from "../../test/support/simulated-trace.js";
import {
  tokenCounterexampleCheck,
  tokenPassingCheck,
  tokenTwoLoopCheck,
} from "../../test/support/token-outcomes.js";
import { explainCheck, leadSentence, propertyMessage } from "./index.js";

describe("sentences under token weighting", () => {
  it("hold the shrunk counterexample's samples to n_i/T_W and list its two micro-batches with their loss tokens", () => {
    const check = tokenCounterexampleCheck();
    expect(check.verdict).toBe("fail");
    expect(propertyMessage(check, "weighting")).toBe(
      "step 1 (epoch 1) gave sample 0 of epoch 1 (1 loss token) weight 1/2; token weighting gives it 1/3 (1 of its window's 3 loss tokens): relative error 0.5 > tolerance 1e-4; " +
        "window 1 of epoch 1: micro-batch 1 holds 1 sample with 1 loss token, micro-batch 2 holds 1 sample with 2 loss tokens; " +
        "each micro-batch's mean over its loss tokens was weighted 1/2 (divided by K = 2, the window's micro-batches), " +
        "which over-weights the loss tokens of shorter micro-batches: a loss token weighed 1/2 in micro-batch 1 (1 loss token) and 1/4 in micro-batch 2 (2 loss tokens), " +
        "where every loss token of the window should weigh 1/3",
    );
    const text = explainCheck(check);
    expect(text).toContain("(weighted by loss tokens, per sample 1, 2)");
    expect(text).toContain("window 1 of epoch 1 (2 samples, 3 loss tokens)");
    expect(text).toContain(
      "1 sample (0; 1 loss token) got weight 1/2 where token weighting gives 1/3 (1 of its window's 3 loss tokens), so its update was 50.0% bigger",
    );
    expect(text).toContain(
      "1 sample (1; 2 loss tokens) got weight 1/2 where token weighting gives 2/3 (2 of its window's 3 loss tokens), so its update was 25.0% smaller",
    );
    expect(text).toContain(
      "Its weights are equal (1/2 each), but its samples hold different numbers of loss tokens, so token weighting gives them 1/3 and 2/3.",
    );
    expect(text).toContain(
      "Window 1 of epoch 1: micro-batch 1 holds 1 sample with 1 loss token, micro-batch 2 holds 1 sample with 2 loss tokens;",
    );
    expect(text).not.toContain("sample-count weighting");
    expect(leadSentence(check)).toBe(
      "docs-loop fails weighting: per-micro-batch token means over-weight the tokens of shorter micro-batches.",
    );
  });

  it("names the unequal micro-batches of a two-loop on token sequences, a sample without loss tokens included", () => {
    const check = tokenTwoLoopCheck();
    const message = propertyMessage(check, "weighting");
    expect(message).toContain("token weighting gives it 2/6 (2 of its window's 6 loss tokens)");
    expect(message).toContain(
      "micro-batch 1 holds 2 samples with 4 loss tokens, micro-batch 2 holds 2 samples with 2 loss tokens",
    );
    expect(message).toContain(
      "a loss token weighed 1/4 in micro-batch 2 (2 loss tokens) and 1/8 in micro-batch 1 (4 loss tokens), where every loss token of the window should weigh 1/6",
    );
    expect(explainCheck(check)).toContain("per sample 3, 1, 0, 2, 3, 1, 0");
  });

  it("says what a passing check was held to", () => {
    const check = tokenPassingCheck();
    expect(check.verdict).toBe("pass");
    expect(propertyMessage(check, "weighting")).toMatch(
      /^every applied weight within 0 of n_i\/T_W \(a sample's loss tokens over its window's\), body within .+; detects weight errors above 1e-4 \(an off-by-one loss-token count in windows of up to 9,998 loss tokens\)$/,
    );
    expect(explainCheck(check)).toContain(
      "with weights within 0 relative of n_i/T_W, each sample's share of its window's loss tokens",
    );
  });

  it("counts the global loss tokens of a data-parallel window, rank by rank", () => {
    const check = judge(
      simulateDataParallelTrace(
        {
          datasetSize: 4,
          batchSize: 1,
          accumulation: 2,
          worldSize: 2,
          weighting: "tokens",
          lengths: [1, 3, 2, 2],
        },
        "ddp-tail-step",
      ),
    );
    const message = propertyMessage(check, "weighting");
    expect(message).toContain("(1 of its window's 8 loss tokens)");
    expect(message).toContain("rank 0's micro-batch 1 holds 1 sample with 1 loss token");
    expect(message).toContain("rank 1's micro-batch 2 holds 1 sample with 2 loss tokens");
    expect(message).toContain(
      "(divided by K = 2, the window's micro-batches, and averaged over 2 ranks)",
    );
    expect(message).toContain(
      "a loss token weighed 1/4 in rank 0's micro-batch 1 (1 loss token) and 1/12 in rank 1's micro-batch 1 (3 loss tokens), where every loss token of the window should weigh 1/8",
    );
  });

  it("keeps the sample-weighted words for sample weighting", () => {
    const check = twoLoopCheck();
    expect(propertyMessage(check, "weighting")).not.toMatch(/loss token|micro-batch 1 holds/);
    const tail = judgeLoop({ datasetSize: 3, batchSize: 1, accumulation: 2 }, "tail-step");
    expect(explainCheck(tail)).toContain("where sample-count weighting gives 1/1");
  });
});
