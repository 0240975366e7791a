import { describe, expect, it } from "vitest";
import { missionScenarios } from "./arbitraries.js";
import { missionCounterexamples, pinRegressions } from "./regressions.js";

const shapes = (scenarios: ReadonlyArray<{ datasetSize: number; batchSize: number }>) =>
  scenarios.map((s) => `${s.datasetSize}/${s.batchSize}`);

describe("pinRegressions", () => {
  it("keeps both known counterexamples unchanged without pins", () => {
    const { kept, leftOut } = pinRegressions(missionCounterexamples(), {});
    expect(kept).toEqual(missionScenarios());
    expect(leftOut).toEqual([]);
  });

  it("--drop-last: keeps 110/8/4 with drop_last, leaves out 1000/128/4 whose short micro-batch it drops", () => {
    const { kept, leftOut } = pinRegressions(missionCounterexamples(), { dropLast: true });
    expect(kept).toEqual([{ ...missionScenarios()[0], dropLast: true }]);
    expect(leftOut).toEqual([
      { scenario: missionScenarios()[1], reason: { kind: "last-micro-batch-dropped" } },
    ]);
  });

  it("--batch-size 16: applies the pin where the counterexample still has what it is kept for", () => {
    const { kept, leftOut } = pinRegressions(missionCounterexamples(), {
      batchSize: 16,
      epochs: 3,
      shuffle: 4,
    });
    expect(shapes(kept)).toEqual(["110/16", "1000/16"]);
    for (const s of kept) expect(s).toMatchObject({ epochs: 3, shuffle: 4, accumulation: 4 });
    expect(leftOut).toEqual([]);
  });

  it("leaves out what the pins take away, saying why", () => {
    // 96 samples of 8: 12 micro-batches, complete windows; of 128: one short micro-batch, alone.
    const n96 = pinRegressions(missionCounterexamples(), { datasetSize: 96 });
    expect(n96.kept).toEqual([]);
    expect(n96.leftOut.map((l) => l.reason)).toEqual([
      { kind: "complete-last-window", microBatches: 12, accumulation: 4 },
      { kind: "last-micro-batch-alone" },
    ]);
    // 1000 samples of 8 fill 125 micro-batches: no short one.
    const b8 = pinRegressions(missionCounterexamples(), { batchSize: 8 });
    expect(shapes(b8.kept)).toEqual(["110/8"]);
    expect(b8.leftOut.map((l) => l.reason.kind)).toEqual(["last-micro-batch-full"]);
    // Four ranks of 28 samples: 4 micro-batches each, one complete window.
    const w4 = pinRegressions(missionCounterexamples(), { worldSize: 4 });
    expect(w4.leftOut.map((l) => [l.scenario.datasetSize, l.reason.kind])).toEqual([
      [110, "complete-last-window"],
    ]);
    expect(w4.kept).toEqual([{ ...missionScenarios()[1], worldSize: 4 }]);
  });

  it("leaves out a counterexample the pins make invalid, with the schema's message", () => {
    const lengths = Array.from({ length: 200 }, () => 2);
    const { kept, leftOut } = pinRegressions(
      missionCounterexamples("fingerprint", "fp32", 1, "tokens"),
      { weighting: "tokens", lengths },
    );
    expect(shapes(kept)).toEqual(["1000/128"]);
    expect(leftOut).toEqual([
      {
        scenario: missionCounterexamples("fingerprint", "fp32", 1, "tokens")[0]?.scenario,
        reason: {
          kind: "invalid",
          message:
            "lengths: expected at most 110 loss-token counts (one per sample, repeated when fewer), saw 200",
        },
      },
    ]);
  });
});
