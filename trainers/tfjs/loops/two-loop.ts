import * as tf from "@tensorflow/tfjs-core";
import type { Trainer } from "../../contract/trainer.js";
import { clipGradNorm } from "../clip.js";
import { runSession } from "../session.js";

/**
 * "Two nested loops": an outer loop over windows of m = min(K, remaining) micro-batches,
 * loss / m per micro-batch (its mean over samples, or loss tokens under token weighting).
 * Weights per micro-batch, not per sample or token. Clipping, the scheduler and the average tick
 * per micro-batch.
 */
export const twoLoopTrainer: Trainer = {
  name: "two-loop",
  description: "windows of m = min(K, remaining) micro-batches, loss / m per micro-batch",
  run: (scenario, dataset, options) =>
    runSession(
      "two-loop",
      scenario,
      dataset,
      options,
      ({ model, loader, gradients, optimizer, scheduler, average }) => {
        const k = scenario.accumulation;
        for (let epoch = 0; epoch < scenario.epochs; epoch++) {
          model.setEpoch(epoch);
          const batches = loader.epoch(epoch)[Symbol.iterator]();
          for (let start = 0; start < loader.length; start += k) {
            const m = Math.min(k, loader.length - start);
            for (let j = 0; j < m; j++) {
              const next = batches.next();
              if (next.done) break;
              const batch = next.value;
              gradients.backward(() => tf.div(tf.mean(model.lossTerms(batch)), m));
              if (scenario.clipNorm !== undefined) clipGradNorm(gradients, scenario.clipNorm);
              scheduler.step();
              average?.update();
            }
            optimizer.step();
            optimizer.zeroGrad();
          }
        }
      },
    ),
};
