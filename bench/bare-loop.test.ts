import * as tf from "@tensorflow/tfjs-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { makeDataset } from "../trainers/contract/probe.js";
import { parseScenario, type ScenarioInput } from "../trainers/contract/scenario.js";
import {
  BARE_LOOP_TARGET,
  bareLoopCaption,
  formatBareLoopTable,
  measureBareLoops,
} from "./bare-loop.js";
import { BarePythonLoop } from "./bare-python.js";
import { trainBareTfjs } from "./bare-tfjs.js";

/** sum(phi) after a correct loop: each window's samples share -lr between them, once per epoch. */
function expectedFingerprintSum(input: ScenarioInput): number {
  const s = parseScenario(input);
  const batches = s.dropLast
    ? Math.floor(s.datasetSize / s.batchSize)
    : Math.ceil(s.datasetSize / s.batchSize);
  return -s.learningRate * Math.ceil(batches / s.accumulation) * s.epochs;
}

const cases: ScenarioInput[] = [
  { datasetSize: 110, batchSize: 8, accumulation: 4, epochs: 2 },
  { datasetSize: 1000, batchSize: 128, accumulation: 4, model: "logistic" },
  { datasetSize: 37, batchSize: 5, accumulation: 3, dropLast: true },
];

describe("bare TensorFlow.js loop", () => {
  it.each(cases)("gives every window one step of its mean gradient (%o)", async (input) => {
    const scenario = parseScenario(input);
    const before = tf.memory().numTensors;
    const sum = await trainBareTfjs(scenario, makeDataset(scenario));
    expect(sum).toBeCloseTo(expectedFingerprintSum(input), 5);
    expect(tf.memory().numTensors).toBe(before);
  });

  it("refuses scenarios it does not train", async () => {
    const scenario = parseScenario({ datasetSize: 10, batchSize: 2, accumulation: 2, shuffle: 1 });
    await expect(trainBareTfjs(scenario, makeDataset(scenario))).rejects.toThrow(/no shuffle/);
  });
});

describe("bare PyTorch loop", () => {
  let loop: BarePythonLoop;
  beforeAll(async () => {
    loop = await BarePythonLoop.start();
  });
  afterAll(async () => {
    await loop.dispose();
  });

  it.each(cases)("gives every window one step of its mean gradient (%o)", async (input) => {
    const run = await loop.run(parseScenario(input));
    expect(run.fingerprintSum).toBeCloseTo(expectedFingerprintSum(input), 5);
    expect(run.seconds).toBeGreaterThan(0);
  });

  it("runs with the worker's thread setting", () => {
    const own = process.env.OMP_NUM_THREADS || process.env.MKL_NUM_THREADS;
    if (!own) expect(loop.threads).toBe(1);
    expect(loop.startupMs).toBeGreaterThan(0);
  });
});

describe("bare-loop table", () => {
  it("has a row per side and N, and a caption stating the target", async () => {
    const figures = await measureBareLoops({
      sizes: [64, 200],
      repetitions: 1,
      targetRepetitionMs: 1,
      warmupMs: 0,
    });
    expect(figures.rows.map((r) => [r.side, r.trainer, r.datasetSize])).toEqual([
      ["tfjs", "reference", 64],
      ["pytorch", "python:reference", 64],
      ["tfjs", "reference", 200],
      ["pytorch", "python:reference", 200],
    ]);
    for (const row of figures.rows) {
      expect(row.fullCheckMs).toBeGreaterThan(0);
      expect(row.bareLoopMs).toBeGreaterThan(0);
      expect(row.ratio).toBeGreaterThan(0);
    }
    expect(figures.workerStartupMs).toBeGreaterThan(0);
    const table = formatBareLoopTable(figures.rows).split("\n");
    expect(table).toHaveLength(2 + figures.rows.length);
    expect(table[2]).toMatch(
      /^\| tfjs \| reference \| 64 \| [\d.]+ \| [\d.]+ \| [\d.]+ \| - \| 1 x \d+ \|$/,
    );
    expect(bareLoopCaption(figures)).toContain(`at most ${BARE_LOOP_TARGET}x at N >= 1e4`);
  });

  it("states the target against rows from N = 1e4", () => {
    const row = {
      side: "tfjs" as const,
      trainer: "reference",
      fullCheckMs: 2,
      bareLoopMs: 1,
      ratio: 2,
      repetitions: 1,
      casesPerRepetition: 1,
    };
    const lines = formatBareLoopTable([
      { ...row, datasetSize: 1000 },
      { ...row, datasetSize: 10000 },
      { ...row, datasetSize: 100000, ratio: 1.1 },
    ]).split("\n");
    expect(lines[2]).toContain("| 1e3 |");
    expect(lines[2]).toContain("| - |");
    expect(lines[3]).toContain("| <= 1.2x (not met) |");
    expect(lines[4]).toContain("| 1e5 |");
    expect(lines[4]).toContain("| <= 1.2x (met) |");
  });
});
