import * as tf from "@tensorflow/tfjs-core";
import { describe, expect, it } from "vitest";
import { runCheck } from "../../properties/run-check.js";
import { parseScenario } from "../contract/scenario.js";
import { defineTfjsTrainer } from "./define.js";
import type { TrainingSession } from "./session.js";

const scenario = parseScenario({ datasetSize: 10, batchSize: 3, accumulation: 2, epochs: 2 });

/** Sums each window's per-sample losses, divided by its sample count, without calling setEpoch. */
async function windowLoop({ scenario: s, loader, model, gradients, optimizer }: TrainingSession) {
  for (let epoch = 0; epoch < s.epochs; epoch++) {
    await Promise.resolve(); // an async loop, as one that awaits its data
    const batches = [...loader.epoch(epoch)];
    for (let first = 0; first < batches.length; first += s.accumulation) {
      const window = batches.slice(first, first + s.accumulation);
      const n = window.reduce((sum, batch) => sum + batch.length, 0);
      for (const batch of window)
        gradients.backward(() => tf.div(tf.sum(model.perSampleLosses(batch)), n));
      optimizer.step();
      optimizer.zeroGrad();
    }
  }
}

function lossOf(session: TrainingSession, batch: readonly number[]): tf.Scalar {
  throw new RangeError(`no loss for ${batch.length} samples of ${session.scenario.datasetSize}`);
}

describe("defineTfjsTrainer", () => {
  it("runs an async loop and tags each epoch's passes through loader.epoch", async () => {
    const check = await runCheck(
      defineTfjsTrainer({ name: "my-loop", loop: windowLoop }),
      scenario,
    );
    expect(check.verdict).toBe("pass");
    expect(check.trainerInfo).toMatchObject({ name: "my-loop", framework: "tensorflow.js" });
  });

  it("reports an exception in the loop with the loop's own frames, outermost first", async () => {
    const trainer = defineTfjsTrainer({
      name: "my-loop",
      loop: function myLoop(session) {
        for (const batch of session.loader.epoch(0))
          session.gradients.backward(() => lossOf(session, batch));
      },
    });
    const check = await runCheck(trainer, scenario);
    if (check.verdict !== "error" || check.error.kind !== "trainer")
      throw new Error("expected a trainer error");
    expect(check.error.message).toMatch(
      /^my-loop: RangeError: no loss for 3 samples of 10 \(define\.test\.ts:\d+ in lossOf\)$/,
    );
    expect(check.error.traceback?.map((f) => [f.file.split("/").at(-1), f.function])).toEqual([
      ["define.test.ts", "myLoop"],
      ["define.test.ts", "<anonymous>"],
      ["define.test.ts", "lossOf"],
    ]);
  });

  it("refuses a name that is empty, spaced or a Python trainer's, and a loop that is not a function", () => {
    expect(() => defineTfjsTrainer({ name: "", loop: windowLoop })).toThrow(
      'defineTfjsTrainer: name: expected a non-empty word, saw ""',
    );
    expect(() => defineTfjsTrainer({ name: "my loop", loop: windowLoop })).toThrow(
      /non-empty word/,
    );
    expect(() => defineTfjsTrainer({ name: "python:mine", loop: windowLoop })).toThrow(
      /taken by the Python trainers/,
    );
    expect(() =>
      defineTfjsTrainer({ name: "mine", loop: undefined as unknown as typeof windowLoop }),
    ).toThrow("defineTfjsTrainer: loop: expected a function (session) => void, saw undefined");
  });
});
