import * as tf from "@tensorflow/tfjs-core";
import type { Trainer } from "../../contract/trainer.js";
import { clipGradNorm } from "../clip.js";
import { runSession } from "../session.js";

/**
 * "Step at the end too": the documentation loop plus a step at the epoch's last micro-batch, with
 * its clipping, scheduler and average per micro-batch.
 */
export const tailStepTrainer: Trainer = {
  name: "tail-step",
  description: "loss / K per micro-batch, step when (i+1) % K == 0 or (i+1) == len(loader)",
  run: (scenario, dataset, options) =>
    runSession(
      "tail-step",
      scenario,
      dataset,
      options,
      ({ model, loader, gradients, optimizer, scheduler, average }) => {
        const k = scenario.accumulation;
        for (let epoch = 0; epoch < scenario.epochs; epoch++) {
          model.setEpoch(epoch);
          let i = 0;
          for (const batch of loader.epoch(epoch)) {
            gradients.backward(() => tf.div(tf.mean(model.lossTerms(batch)), k));
            if (scenario.clipNorm !== undefined) clipGradNorm(gradients, scenario.clipNorm);
            if ((i + 1) % k === 0 || i + 1 === loader.length) {
              optimizer.step();
              optimizer.zeroGrad();
            }
            scheduler.step();
            average?.update();
            i += 1;
          }
        }
      },
    ),
};
