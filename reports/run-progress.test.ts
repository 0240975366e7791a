import { describe, expect, it } from "vitest";
import type { RunProgress } from "../trainers/contract/trainer.js";
import { formatClock, runFraction, runPosition, secondsLeft } from "./run-progress.js";

const epochs: RunProgress = {
  sampling: "epochs",
  epoch: 1,
  epochs: 3,
  microBatch: 120_000,
  microBatches: 300_000,
  steps: 105_000,
};
const draws: RunProgress = {
  sampling: "replacement",
  microBatch: 1200,
  microBatches: 3000,
  steps: 300,
  totalSteps: 750,
};

describe("where a run stands", () => {
  it("says the epoch from 1 and the micro-batch of that epoch, or the steps of a run that draws", () => {
    expect(runPosition(epochs)).toBe("epoch 2/3, micro-batch 120,000/300,000");
    expect(runPosition(draws)).toBe("step 300/750, micro-batch 1,200/3,000");
  });

  it("never says more micro-batches than the epoch has (a redone window counts again)", () => {
    expect(runPosition({ ...epochs, microBatch: 300_004 })).toBe(
      "epoch 2/3, micro-batch 300,000/300,000",
    );
  });

  it("counts the share done over every micro-batch of the run", () => {
    expect(runFraction(epochs)).toBeCloseTo(420_000 / 900_000, 12);
    expect(runFraction(draws)).toBe(0.4);
    expect(runFraction({ ...draws, microBatch: 3010 })).toBe(1);
    expect(runFraction({ ...epochs, microBatches: 0 })).toBeUndefined();
  });

  it("shows durations as a clock", () => {
    expect([0, 5, 65, 100, 3599, 3723].map(formatClock)).toEqual([
      "0:00",
      "0:05",
      "1:05",
      "1:40",
      "59:59",
      "1:02:03",
    ]);
  });
});

describe("the time left", () => {
  const first = { at: 1000, fraction: 0.0005 };

  it("follows the rate since the first report, less the time since the latest", () => {
    expect(secondsLeft(first, { at: 21_000, fraction: 0.2005 }, 21_000)).toBeCloseTo(79.95, 9);
    expect(secondsLeft(first, { at: 21_000, fraction: 0.2005 }, 21_500)).toBeCloseTo(79.45, 9);
    expect(secondsLeft(first, { at: 21_000, fraction: 1 }, 21_000)).toBe(0);
  });

  it("is not given before 2 s of training and 1 % of the micro-batches", () => {
    expect(secondsLeft(first, { at: 2900, fraction: 0.5 }, 2900)).toBeUndefined();
    expect(secondsLeft(first, { at: 60_000, fraction: 0.009 }, 60_000)).toBeUndefined();
    expect(secondsLeft(first, { at: 3000, fraction: 0.01 }, 3000)).toBeCloseTo(
      (0.99 * 2) / 0.0095,
      9,
    );
  });

  it("is not given for a run that has not moved since its first report", () => {
    expect(secondsLeft(first, { at: 60_000, fraction: 0.0005 }, 60_000)).toBeUndefined();
  });
});
