import * as tf from "@tensorflow/tfjs-core";
import type { Dataset } from "../../contract/probe.js";
import type { Scenario } from "../../contract/scenario.js";
import type { Trace } from "../../contract/trace.js";
import type { RunOptions, Trainer } from "../../contract/trainer.js";
import { clipGradNorm } from "../clip.js";
import { runSession, type TrainingSession } from "../session.js";

/**
 * The loop from framework documentation: loss / K per micro-batch (the loss being the
 * micro-batch's mean over its samples, or its loss tokens under token weighting), step when
 * (i+1) % K == 0.
 * The gradient of an epoch's last incomplete group is never cleared, so it leaks into the next
 * epoch's first step (and is never applied after the last epoch).
 * Step semantics in their common broken form: the accumulated gradient is clipped after every
 * micro-batch's backward, and the scheduler and the average tick after every micro-batch.
 */
export function docsLoop(session: TrainingSession, accumulation: number): void {
  const { scenario, model, loader, gradients, optimizer, scheduler, average } = session;
  for (let epoch = 0; epoch < scenario.epochs; epoch++) {
    model.setEpoch(epoch);
    let i = 0;
    for (const batch of loader.epoch(epoch)) {
      gradients.backward(() => tf.div(tf.mean(model.lossTerms(batch)), accumulation));
      if (scenario.clipNorm !== undefined) clipGradNorm(gradients, scenario.clipNorm);
      if ((i + 1) % accumulation === 0) {
        optimizer.step();
        optimizer.zeroGrad();
      }
      scheduler.step();
      average?.update();
      i += 1;
    }
  }
}

/** The documentation loop as a candidate trainer. */
export const docsLoopTrainer: Trainer = {
  name: "docs-loop",
  description: "loss / K per micro-batch, step when (i+1) % K == 0, zero_grad after the step",
  run: (scenario: Scenario, dataset: Dataset, options?: RunOptions): Promise<Trace> =>
    runSession("docs-loop", scenario, dataset, options, (session) =>
      docsLoop(session, scenario.accumulation),
    ),
};
