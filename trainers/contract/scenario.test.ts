import { describe, expect, it } from "vitest";
import { parseScenario, ScenarioError } from "./scenario.js";

describe("parseScenario", () => {
  it("fills defaults", () => {
    expect(parseScenario({ datasetSize: 110, batchSize: 8, accumulation: 4 })).toEqual({
      datasetSize: 110,
      batchSize: 8,
      accumulation: 4,
      worldSize: 1,
      dropLast: false,
      shuffle: false,
      epochs: 1,
      sampling: "epochs",
      precision: "fp32",
      model: "fingerprint",
      dataSeed: 0,
      weighting: "samples",
      learningRate: 0.1,
      schedule: "constant",
      warmupSteps: 0,
      optimizer: "sgd",
    });
  });

  it("takes step semantics: clipping, a schedule, an average, AdamW, an fp16 overflow", () => {
    const base = { datasetSize: 128, batchSize: 8, accumulation: 4 };
    expect(
      parseScenario({
        ...base,
        clipNorm: 1,
        schedule: "cosine",
        warmupSteps: 2,
        ema: 0.99,
        optimizer: "adamw",
        precision: "fp16",
        overflowStep: 3,
      }),
    ).toMatchObject({ clipNorm: 1, schedule: "cosine", ema: 0.99, overflowStep: 3 });
    expect(() => parseScenario({ ...base, overflowStep: 3 })).toThrow(
      "overflowStep: expected fp16 precision (only a scaled fp16 loss overflows), saw fp32",
    );
    expect(() => parseScenario({ ...base, ema: 1 })).toThrow(
      "ema: expected a decay below 1, saw 1",
    );
    expect(() => parseScenario({ ...base, clipNorm: 0 })).toThrow(
      "clipNorm: expected a number above 0, saw 0",
    );
    expect(() => parseScenario({ ...base, schedule: "exponential" })).toThrow(
      'schedule: expected one of constant, linear, cosine, step, saw "exponential"',
    );
  });

  it("takes loss-token counts under token weighting only, as a list or a range", () => {
    const base = { datasetSize: 4, batchSize: 2, accumulation: 2 };
    expect(parseScenario({ ...base, weighting: "tokens", lengths: [3, 0] }).lengths).toEqual([
      3, 0,
    ]);
    expect(parseScenario({ ...base, weighting: "tokens", lengths: "1-8" }).lengths).toBe("1-8");
    expect(parseScenario({ ...base, weighting: "tokens" }).lengths).toBeUndefined();
    expect(parseScenario({ ...base, weighting: "tokens", model: "causal-lm" }).model).toBe(
      "causal-lm",
    );
  });

  it("takes a run that draws with replacement: steps instead of epochs", () => {
    const s = parseScenario({
      datasetSize: 50,
      batchSize: 4,
      accumulation: 3,
      sampling: "replacement",
      steps: 5,
    });
    expect(s).toMatchObject({ sampling: "replacement", steps: 5, epochs: 1 });
    expect(parseScenario({ ...s, epochs: 1 }).steps).toBe(5);
  });

  it.each([
    [
      { datasetSize: 50, batchSize: 4, accumulation: 3, sampling: "replacement" },
      "steps: expected the optimizer steps the run takes under replacement sampling, saw none",
    ],
    [
      { datasetSize: 50, batchSize: 4, accumulation: 3, steps: 5 },
      "steps: expected none under epoch sampling (steps apply to replacement sampling), saw 5",
    ],
    [
      {
        datasetSize: 50,
        batchSize: 4,
        accumulation: 3,
        sampling: "replacement",
        steps: 5,
        epochs: 2,
      },
      "epochs: expected 1 under replacement sampling (a run that draws with replacement has no epochs; set steps), saw 2",
    ],
    [
      {
        datasetSize: 50,
        batchSize: 4,
        accumulation: 3,
        sampling: "replacement",
        steps: 5,
        dropLast: true,
      },
      "dropLast: expected off under replacement sampling (every micro-batch holds B draws), saw on",
    ],
    [
      {
        datasetSize: 50,
        batchSize: 4,
        accumulation: 3,
        sampling: "replacement",
        steps: 5,
        shuffle: 3,
      },
      "shuffle: expected off under replacement sampling (the draws come from the data seed), saw 3",
    ],
    [
      {
        datasetSize: 50,
        batchSize: 4,
        accumulation: 3,
        sampling: "replacement",
        steps: 5,
        worldSize: 2,
      },
      "worldSize: expected 1 under replacement sampling",
    ],
    [
      { datasetSize: 50, batchSize: 1000, accumulation: 1000, sampling: "replacement", steps: 5 },
      "steps: expected steps x accumulation x batchSize at most 2000000 draws, saw 5000000",
    ],
    [
      { datasetSize: 50, batchSize: 4, accumulation: 3, sampling: "random" },
      'sampling: expected one of epochs, replacement, saw "random"',
    ],
    [
      { datasetSize: 50, batchSize: 4, accumulation: 3, sampling: "replacement", steps: 0 },
      "steps: expected at least 1, saw 0",
    ],
  ])("refuses the sampling rules broken by %j in one line naming the field", (input, message) => {
    expect(() => parseScenario(input)).toThrow(message);
    try {
      parseScenario(input);
    } catch (error) {
      expect((error as Error).message).not.toContain("\n");
    }
  });

  it.each([
    [{ datasetSize: 0, batchSize: 8, accumulation: 4 }, "datasetSize: expected at least 1, saw 0"],
    [{ datasetSize: 10, batchSize: -1, accumulation: 4 }, "batchSize: expected at least 1, saw -1"],
    [
      { datasetSize: 10, batchSize: 2, accumulation: 1.5 },
      "accumulation: expected a whole number, saw 1.5",
    ],
    [
      { datasetSize: 1e9, batchSize: 2, accumulation: 1 },
      "datasetSize: expected at most 1000000, saw 1000000000",
    ],
    [
      { datasetSize: 10, batchSize: 2, accumulation: 1, precision: "fp8" },
      'precision: expected one of fp32, fp16, bf16, saw "fp8"',
    ],
    [{ datasetSize: 10, batchSize: 2, accumulation: 1, colour: 1 }, "unknown field(s) colour"],
    [
      { datasetSize: 10, batchSize: 2, accumulation: 1, lengths: [1, 2] },
      "lengths: loss-token counts apply to token weighting only (set weighting to tokens)",
    ],
    [
      { datasetSize: 10, batchSize: 2, accumulation: 1, model: "causal-lm" },
      "model: expected one of fingerprint, logistic, mlp under samples weighting, saw causal-lm",
    ],
    [
      { datasetSize: 10, batchSize: 2, accumulation: 1, weighting: "tokens", model: "mlp" },
      "model: expected one of fingerprint, causal-lm under tokens weighting, saw mlp",
    ],
    [
      { datasetSize: 10, batchSize: 2, accumulation: 1, weighting: "tokens", lengths: "5-2" },
      "lengths: expected a range A-B with A <= B <= 64, saw 5-2",
    ],
    [
      { datasetSize: 10, batchSize: 2, accumulation: 1, weighting: "tokens", lengths: [1, 65] },
      "lengths.1: expected loss-token counts from 0 to 64, saw 65",
    ],
    [
      { datasetSize: 2, batchSize: 1, accumulation: 1, weighting: "tokens", lengths: [1, 2, 3] },
      "lengths: expected at most 2 loss-token counts (one per sample, repeated when fewer), saw 3",
    ],
    [
      { datasetSize: 10, batchSize: 2, accumulation: 1, weighting: "words" },
      'weighting: expected one of samples, tokens, saw "words"',
    ],
    [
      { datasetSize: 100_000, batchSize: 2, accumulation: 1, epochs: 100 },
      "datasetSize: expected datasetSize x epochs at most 2000000",
    ],
  ])("rejects %j with a one-line message naming the field", (input, message) => {
    expect(() => parseScenario(input)).toThrow(ScenarioError);
    expect(() => parseScenario(input)).toThrow(message);
    try {
      parseScenario(input);
    } catch (error) {
      expect((error as Error).message).not.toContain("\n");
    }
  });

  it.each([
    [
      { datasetSize: 2 ** 53 + 2, batchSize: 2, accumulation: 1 },
      "datasetSize: expected at most 1000000, saw 9007199254740994",
    ],
    [
      { datasetSize: 10, batchSize: 2, accumulation: 1, shuffle: -1 },
      "shuffle: expected false or a whole number from 0 to 4294967295, saw -1",
    ],
    [
      { datasetSize: 10, batchSize: 2, accumulation: 1, shuffle: 2 ** 60 },
      "shuffle: expected false or a whole number from 0 to 4294967295, saw 1152921504606847000",
    ],
    [
      { datasetSize: 10, batchSize: 2, accumulation: 1, shuffle: true },
      "shuffle: expected false or a whole number from 0 to 4294967295, saw true",
    ],
  ])("says one thing of %j, naming the values it takes", (input, message) => {
    expect(() => parseScenario(input)).toThrow(new ScenarioError(message));
  });
});
