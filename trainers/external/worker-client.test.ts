import { describe, expect, it } from "vitest";
import { makeDataset } from "../contract/probe.js";
import { parseScenario } from "../contract/scenario.js";
import { unpackArray } from "./wire-trace.js";
import { wireDataset } from "./worker-client.js";

describe("run request dataset", () => {
  it("packs the features, sends the labels and no tokens under sample weighting", () => {
    const dataset = makeDataset(parseScenario({ datasetSize: 3, batchSize: 1, accumulation: 1 }));
    const wire = wireDataset(dataset);
    expect(Object.keys(wire)).toEqual(["features", "labels"]);
    expect(unpackArray(wire.features as Parameters<typeof unpackArray>[0])).toEqual(
      dataset.features.flat(),
    );
    expect(wire.labels).toEqual(dataset.labels);
  });

  it("sends every sample's input ids and labels under token weighting", () => {
    const dataset = makeDataset(
      parseScenario({
        datasetSize: 4,
        batchSize: 2,
        accumulation: 1,
        weighting: "tokens",
        model: "causal-lm",
        lengths: [1, 0, 3],
      }),
    );
    const wire = wireDataset(dataset);
    expect(wire.tokens).toEqual({
      inputIds: dataset.tokens?.inputIds,
      labels: dataset.tokens?.labels,
    });
    expect((wire.tokens as { labels: number[][] }).labels.map((l) => l.length)).toEqual(
      dataset.tokens?.inputIds.map((ids) => ids.length),
    );
  });
});
