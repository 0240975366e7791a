import { describe, expect, it } from "vitest";
import { parseScenario } from "../contract/scenario.js";
import { createLoader, sampleOrder } from "./loader.js";

describe("createLoader", () => {
  it("yields micro-batches of B ids in index order, the last one short", () => {
    const loader = createLoader(parseScenario({ datasetSize: 10, batchSize: 4, accumulation: 2 }));
    expect(loader.length).toBe(3);
    expect([...loader.epoch(0)]).toEqual([
      [0, 1, 2, 3],
      [4, 5, 6, 7],
      [8, 9],
    ]);
  });

  it("drops the short last micro-batch with drop_last", () => {
    const scenario = parseScenario({
      datasetSize: 10,
      batchSize: 4,
      accumulation: 2,
      dropLast: true,
    });
    const loader = createLoader(scenario);
    expect(loader.length).toBe(2);
    expect([...loader.epoch(1)].flat()).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
  });

  it("can be iterated again, like a DataLoader", () => {
    const loader = createLoader(
      parseScenario({ datasetSize: 5, batchSize: 2, accumulation: 1, shuffle: 3 }),
    );
    expect([...loader.epoch(2)]).toEqual([...loader.epoch(2)]);
  });
});

describe("sampleOrder", () => {
  it("is a permutation, deterministic for a seed and epoch", () => {
    const a = sampleOrder(100, 7, 0);
    expect([...a].sort((x, y) => x - y)).toEqual(Array.from({ length: 100 }, (_, i) => i));
    expect(sampleOrder(100, 7, 0)).toEqual(a);
    expect(a).not.toEqual(Array.from({ length: 100 }, (_, i) => i));
  });

  it("differs by epoch and by seed", () => {
    expect(sampleOrder(100, 7, 1)).not.toEqual(sampleOrder(100, 7, 0));
    expect(sampleOrder(100, 8, 0)).not.toEqual(sampleOrder(100, 7, 0));
  });

  it("keeps index order without a shuffle seed", () => {
    expect(sampleOrder(4, false, 3)).toEqual([0, 1, 2, 3]);
  });
});
