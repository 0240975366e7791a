import * as tf from "@tensorflow/tfjs-core";
import { type Trainer, TrainerError } from "../../contract/trainer.js";
import type { MicroBatchSamples } from "../loader.js";
import { runSession, type TrainingSession } from "../session.js";

/** Attempts at one window before giving up when every loss scale overflows. */
const MAX_ATTEMPTS = 64;

/**
 * The correct accumulation loop, written to be copied.
 *
 * What it guarantees, for any dataset size N, micro-batch size B and accumulation K:
 * - **Windows.** An epoch's micro-batches are grouped into windows of K consecutive
 *   micro-batches; the epoch's last window holds whatever is left (the tail is flushed).
 *   Each window gives exactly one applied optimizer step.
 * - **Sample-count weighting.** Each micro-batch contributes the *sum* of its per-sample
 *   losses; when the window closes its gradient is divided by the number of samples |W| in the
 *   window. The applied gradient is (1/|W|) sum over i in W of grad l_i, the same as one full
 *   batch of |W| samples, however unequal the micro-batches are (drop_last=false leaves a
 *   short last one). Dividing each micro-batch's mean by K, or by the number of micro-batches,
 *   gets this wrong for short micro-batches or short windows.
 * - **No leaks.** The window always closes at the end of the epoch, and the gradients are
 *   zeroed after every step, so nothing carries into the next epoch.
 * - **Unknown length.** It never asks the data source for its length: a one-micro-batch
 *   lookahead tells it that the current micro-batch is the epoch's last, so it works on
 *   streams and iterable datasets.
 * - **Mixed precision.** With dynamic loss scaling (fp16), a window whose scaled gradient
 *   overflows is not lost: the scaler skips that step and lowers the scale, and the loop
 *   recomputes the same window at the lower scale and steps again. The trace shows the skipped
 *   attempt, then the applied step. This needs the window's micro-batches (here their sample
 *   ids; in a real script the batches or their indices) kept until the window's step applies.
 *
 * In PyTorch terms the loop is:
 * ```python
 * for epoch in range(epochs):
 *     sampler.set_epoch(epoch)
 *     it = iter(loader); nxt = next(it, None)
 *     while nxt is not None:
 *         window = []
 *         while nxt is not None and len(window) < K:
 *             batch, nxt = nxt, next(it, None)        # one-batch lookahead
 *             window.append(batch)
 *             scaler.scale(per_sample_loss(model, batch).sum()).backward()
 *         n = sum(len(b) for b in window)
 *         while True:
 *             scaler.unscale_(opt)
 *             for p in model.parameters(): p.grad /= n
 *             scale = scaler.get_scale(); scaler.step(opt); scaler.update()
 *             opt.zero_grad()
 *             if scaler.get_scale() >= scale: break   # applied
 *             for batch in window:                     # overflowed: redo at the lower scale
 *                 scaler.scale(per_sample_loss(model, batch).sum()).backward()
 * ```
 */
export function referenceLoop(session: TrainingSession): void {
  const { scenario, model, loader, gradients } = session;
  for (let epoch = 0; epoch < scenario.epochs; epoch++) {
    model.setEpoch(epoch);
    const source = loader.epoch(epoch)[Symbol.iterator]();
    let lookahead = source.next();
    while (!lookahead.done) {
      const window: MicroBatchSamples[] = [];
      while (!lookahead.done && window.length < scenario.accumulation) {
        const batch = lookahead.value;
        lookahead = source.next();
        window.push(batch);
        gradients.backward(() => tf.sum(model.perSampleLosses(batch)));
      }
      applyWindow(session, window);
    }
  }
}

/**
 * Divides the window's summed gradient by its sample count and steps; on an fp16 overflow
 * (step skipped, scale lowered) recomputes the window and tries again.
 */
function applyWindow(session: TrainingSession, window: MicroBatchSamples[]): void {
  const { model, gradients, optimizer } = session;
  const samples = window.reduce((total, batch) => total + batch.length, 0);
  for (let attempt = 1; ; attempt++) {
    gradients.divide(samples);
    const applied = optimizer.step();
    optimizer.zeroGrad();
    if (applied) return;
    if (attempt === MAX_ATTEMPTS)
      throw new TrainerError(
        `reference: window of ${samples} samples in epoch ${model.epoch}: expected a finite gradient at some loss scale, saw inf/nan at every scale down to ${optimizer.lossScale}`,
      );
    for (const batch of window) gradients.backward(() => tf.sum(model.perSampleLosses(batch)));
  }
}

/** The reference trainer: sample-count weighting, tail flushed, no leaks, fp16 overflow redone. */
export const referenceTrainer: Trainer = {
  name: "reference",
  description:
    "sum of per-sample losses / samples in the window, tail flushed, no leak across epochs, overflowed windows redone",
  run: (scenario, dataset, options) =>
    runSession("reference", scenario, dataset, options, referenceLoop),
};
