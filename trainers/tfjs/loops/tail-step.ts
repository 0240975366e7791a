import * as tf from "@tensorflow/tfjs-core";
import type { Trainer } from "../../contract/trainer.js";
import { runSession } from "../session.js";

/** "Step at the end too": the documentation loop plus a step at the epoch's last micro-batch. */
export const tailStepTrainer: Trainer = {
  name: "tail-step",
  description: "loss / K per micro-batch, step when (i+1) % K == 0 or (i+1) == len(loader)",
  run: (scenario, dataset, options) =>
    runSession(
      "tail-step",
      scenario,
      dataset,
      options,
      ({ model, loader, gradients, optimizer }) => {
        const k = scenario.accumulation;
        for (let epoch = 0; epoch < scenario.epochs; epoch++) {
          model.setEpoch(epoch);
          let i = 0;
          for (const batch of loader.epoch(epoch)) {
            gradients.backward(() => tf.div(tf.mean(model.lossTerms(batch)), k));
            if ((i + 1) % k === 0 || i + 1 === loader.length) {
              optimizer.step();
              optimizer.zeroGrad();
            }
            i += 1;
          }
        }
      },
    ),
};
