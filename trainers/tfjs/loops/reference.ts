import * as tf from "@tensorflow/tfjs-core";
import { type Trainer, TrainerError } from "../../contract/trainer.js";
import { clipGradNorm } from "../clip.js";
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
 * - **Full-batch weighting.** Each micro-batch contributes the *sum* of its loss terms, one per
 *   loss unit: a sample (sample-count weighting), or a loss token (token-count weighting, as in
 *   language-model fine-tuning, where a sample's loss is a mean over its loss tokens). When the
 *   window closes its gradient is divided by the window's loss units: its samples |W|, or its
 *   loss tokens. The applied gradient is the mean over the window's units, the same as one full
 *   batch of the window, however unequal the micro-batches are (drop_last=false leaves a short
 *   last one; sequences differ in length). Dividing each micro-batch's mean by K, or by the
 *   number of micro-batches, gets this wrong for short micro-batches, short windows, or
 *   micro-batches with different token counts.
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
 * - **Step semantics.** Everything that counts steps counts *applied* optimizer steps, once
 *   each: the window's gradient is clipped once, to the global norm over every parameter, right
 *   before the step (after unscaling); the learning-rate scheduler and the parameters' moving
 *   average (EMA) move once after each applied step, never after a skipped one or per
 *   micro-batch; AdamW's own step count advances only on applied steps (a skipped step never
 *   reaches the optimizer).
 *
 * In PyTorch terms the loop is (for LM data, `loss_terms` is the per-token cross-entropy with
 * `reduction="none"` over the shifted labels, and `units` counts the loss tokens, the labels
 * other than -100; for one-number-per-sample losses both are per sample):
 * ```python
 * def units(batch):
 *     return (batch["labels"][..., 1:] != -100).sum().item()   # or len(batch) per sample
 *
 * for epoch in range(epochs):
 *     sampler.set_epoch(epoch)
 *     it = iter(loader); nxt = next(it, None)
 *     while nxt is not None:
 *         window = []
 *         while nxt is not None and len(window) < K:
 *             batch, nxt = nxt, next(it, None)        # one-batch lookahead
 *             window.append(batch)
 *             scaler.scale(loss_terms(model, batch).sum()).backward()
 *         n = max(sum(units(b) for b in window), 1)
 *         while True:
 *             scaler.unscale_(opt)
 *             for p in model.parameters(): p.grad /= n
 *             if clip_norm: torch.nn.utils.clip_grad_norm_(model.parameters(), clip_norm)
 *             scale = scaler.get_scale(); scaler.step(opt); scaler.update()
 *             opt.zero_grad()
 *             if scaler.get_scale() >= scale:           # applied
 *                 scheduler.step(); ema.update_parameters(model)
 *                 break
 *             for batch in window:                     # overflowed: redo at the lower scale
 *                 scaler.scale(loss_terms(model, batch).sum()).backward()
 * ```
 * Across data-parallel ranks the token count is the global one (all-reduce it), since DDP
 * averages the ranks' gradients.
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
        gradients.backward(() => tf.sum(model.lossTerms(batch)));
      }
      applyWindow(session, window);
    }
  }
}

/**
 * Divides the window's summed gradient by its loss units (1 for a window without any, whose
 * gradient is 0), clips it when the scenario says so, and steps; then moves the scheduler and the
 * average once. On an fp16 overflow (step skipped, scale lowered) recomputes the window and tries
 * again.
 */
function applyWindow(session: TrainingSession, window: MicroBatchSamples[]): void {
  const { scenario, model, gradients, optimizer, scheduler, average } = session;
  const units = window.reduce((total, batch) => total + model.lossUnitCount(batch), 0);
  for (let attempt = 1; ; attempt++) {
    gradients.divide(Math.max(units, 1));
    if (scenario.clipNorm !== undefined) {
      optimizer.unscale();
      clipGradNorm(gradients, scenario.clipNorm);
    }
    const applied = optimizer.step();
    optimizer.zeroGrad();
    if (applied) {
      scheduler.step();
      average?.update();
      return;
    }
    if (attempt === MAX_ATTEMPTS) {
      const samples = window.reduce((total, batch) => total + batch.length, 0);
      const tokens = scenario.weighting === "tokens" ? `, ${units} loss tokens` : "";
      throw new TrainerError(
        `reference: window of ${samples} samples${tokens} in epoch ${model.epoch}: expected a finite gradient at some loss scale, saw inf/nan at every scale down to ${optimizer.lossScale}`,
      );
    }
    for (const batch of window) gradients.backward(() => tf.sum(model.lossTerms(batch)));
  }
}

/**
 * The reference trainer: sample-count or token-count weighting, tail flushed, no leaks, fp16
 * overflow redone, clipping, schedule, average and AdamW counted per applied step.
 */
export const referenceTrainer: Trainer = {
  name: "reference",
  description:
    "sum of loss terms / loss units (samples or loss tokens) in the window, tail flushed, no leak across epochs, overflowed windows redone, clip/schedule/EMA once per applied step",
  run: (scenario, dataset, options) =>
    runSession("reference", scenario, dataset, options, referenceLoop),
};
