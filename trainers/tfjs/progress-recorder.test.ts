import { afterEach, describe, expect, it } from "vitest";
import { makeDataset } from "../contract/probe.js";
import { parseScenario } from "../contract/scenario.js";
import type { RunProgress } from "../contract/trainer.js";
import { createTfjsTrainers } from "./index.js";
import { ProgressRecorder } from "./progress-recorder.js";
import { type AppliedStep, NoopRecorder } from "./recorder.js";
import { disposeTfjsThreads, setTfjsThreadPoolSize } from "./thread-pool.js";

afterEach(async () => {
  setTfjsThreadPoolSize(1);
  await disposeTfjsThreads();
});

describe("a built-in trainer's progress", () => {
  it("is reported at the first micro-batch, then at most every 500 ms, by epoch, with the steps", () => {
    const scenario = parseScenario({ datasetSize: 10, batchSize: 4, accumulation: 2, epochs: 2 });
    const seen: Array<[number, number, number]> = [];
    let now = 0;
    const recorder = new ProgressRecorder(
      new NoopRecorder(),
      scenario,
      (p) => seen.push(p.sampling === "epochs" ? [p.epoch, p.microBatch, p.steps] : [-1, -1, -1]),
      () => now,
    );
    const window = (epoch: number, samples: number[][]) => {
      for (const batch of samples) {
        recorder.forward(epoch, batch);
        now += 250;
      }
      recorder.applied({} as AppliedStep);
    };
    window(0, [
      [0, 1, 2, 3],
      [4, 5, 6, 7],
    ]);
    recorder.forward(0, []); // a pass over no samples is no micro-batch
    window(0, [[8, 9]]);
    recorder.skipped(1);
    window(1, [
      [3, 1, 4, 0],
      [5, 9, 2, 6],
    ]);
    expect(seen).toEqual([
      [0, 1, 0],
      [0, 3, 1], // 500 ms later
      [1, 2, 3], // a new epoch counts from 1; the skipped step is a step
    ]);
  });

  it.each([1, 2])(
    "reaches onProgress from the reference loop, in the main thread and in a thread (pool of %i)",
    async (pool) => {
      setTfjsThreadPoolSize(pool);
      const trainer = createTfjsTrainers().find((t) => t.name === "reference");
      const scenario = parseScenario({ datasetSize: 30, batchSize: 4, accumulation: 2, epochs: 2 });
      const seen: RunProgress[] = [];
      await trainer?.run(scenario, makeDataset(scenario), { onProgress: (p) => seen.push(p) });
      expect(seen[0]).toEqual({
        sampling: "epochs",
        epoch: 0,
        epochs: 2,
        microBatch: 1,
        microBatches: 8,
        steps: 0,
      });
    },
  );
});
