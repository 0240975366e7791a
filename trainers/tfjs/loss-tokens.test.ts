import { describe, expect, it } from "vitest";
import { IGNORE_INDEX, lossTokenCounts, makeDataset } from "../contract/probe.js";
import { parseScenario } from "../contract/scenario.js";
import { lossTokensOf, paddedTokenBatch, tokenBatch } from "./loss-tokens.js";

const X = IGNORE_INDEX;

describe("loss tokens", () => {
  it("pairs each loss token with the input token before it, skipping position 0 and -100", () => {
    const tokens = lossTokensOf({
      inputIds: [
        [4, 1, 2, 5],
        [3, 0],
        [2, 2, 1],
      ],
      labels: [
        [X, X, 2, 5],
        [X, X],
        [2, 2, 1],
      ],
    });
    expect(tokens.contexts).toEqual([[1, 2], [], [2, 2]]);
    expect(tokens.targets).toEqual([[2, 5], [], [2, 1]]);
  });

  it("counts the dataset's loss tokens as lossTokenCounts does", () => {
    const scenario = parseScenario({
      datasetSize: 40,
      batchSize: 4,
      accumulation: 2,
      weighting: "tokens",
      lengths: "0-9",
    });
    const tokens = lossTokensOf(makeDataset(scenario).tokens ?? expect.fail("no tokens"));
    expect(tokens.targets.map((t) => t.length)).toEqual(lossTokenCounts(scenario));
  });

  it("flattens a micro-batch in sample order, or pads it one row per sample", () => {
    const tokens = { contexts: [[1, 2], [], [3, 4, 5]], targets: [[6, 7], [], [8, 9, 10]] };
    expect(tokenBatch(tokens, [2, 1, 0])).toEqual({
      owners: [2, 2, 2, 0, 0],
      contexts: [3, 4, 5, 1, 2],
      targets: [8, 9, 10, 6, 7],
    });
    expect(paddedTokenBatch(tokens, [0, 1])).toEqual({
      width: 2,
      contexts: [1, 2, 0, 0],
      targets: [6, 7, 0, 0],
      mask: [1, 1, 0, 0],
      counts: [2, 0],
    });
    expect(paddedTokenBatch(tokens, [1]).width).toBe(0);
  });
});
