import type { MistakeId } from "./mistakes/catalogue.js";

type CauseTable = Partial<Record<MistakeId, string>>;

const COUNTS_OVER_THE_RUN = ["counter-across-epochs", "no-step", "tail-never-stepped"] as const;
const WEIGHTS_PER_MICRO_BATCH = ["tail-divided-by-k", "micro-batch-mean"] as const;

function causes(
  entries: Array<[readonly MistakeId[], string]>,
): Partial<Record<MistakeId, string>> {
  const table: CauseTable = {};
  for (const [ids, text] of entries) for (const id of ids) table[id] = text;
  return table;
}

/**
 * What a framework's own accumulation does that produces a mistake, keyed by the framework name a
 * trace carries (`trainerInfo.framework`). Established by running each framework (the adapters
 * in trainers/python/accumaudit_probe/adapters/ and their tests); versions in docs/frameworks.md.
 */
const FRAMEWORK_CAUSES: Record<string, CauseTable> = {
  "pytorch-ignite": causes([
    [
      COUNTS_OVER_THE_RUN,
      "create_supervised_trainer(gradient_accumulation_steps=K) steps when engine.state.iteration % K == 0, an iteration count that runs over the whole run, not per epoch; give the Engine your own update function that counts micro-batches per epoch and steps after each epoch's last one.",
    ],
    [
      WEIGHTS_PER_MICRO_BATCH,
      "create_supervised_trainer divides every micro-batch's mean loss by K; in your own update function divide the summed per-sample loss by the window's sample count.",
    ],
    [
      ["schedule-per-micro-batch"],
      "the Engine fires ITERATION_STARTED and ITERATION_COMPLETED for every micro-batch while create_supervised_trainer steps only every K-th, so an LRScheduler attached there ticks K times per step; attach it with an event filter, Events.ITERATION_STARTED(every=K) (it then ticks once per window, while K divides every epoch's micro-batches).",
    ],
    [
      ["ema-per-micro-batch"],
      "EMAHandler.attach() updates on every ITERATION_COMPLETED, once per micro-batch; attach it with event=Events.ITERATION_COMPLETED(every=K), as its docstring shows, to update once per window.",
    ],
  ]),
  keras: causes([
    [
      COUNTS_OVER_THE_RUN,
      "the optimizer's gradient_accumulation_steps counts apply() calls over the whole fit, not per epoch, and never applies what follows the run's last full window; accumulate in your own train_step, or give every epoch a multiple of K full micro-batches.",
    ],
    [
      WEIGHTS_PER_MICRO_BATCH,
      "the optimizer averages the gradients of K micro-batch mean losses, so every micro-batch counts 1/K whatever its size.",
    ],
  ]),
  mmengine: causes([
    [
      COUNTS_OVER_THE_RUN,
      "OptimWrapper(accumulative_counts=K) counts micro-batches over the whole run (its counter is set once, for max_iters), so only the run's last window is flushed; give every epoch a multiple of K full micro-batches, or accumulate yourself in train_step.",
    ],
    [
      WEIGHTS_PER_MICRO_BATCH,
      "OptimWrapper divides every micro-batch's mean loss by K (the run's last max_iters % K micro-batches by that remainder), never by the window's sample count.",
    ],
    [
      ["schedule-per-micro-batch"],
      "ParamSchedulerHook.after_train_iter steps every by-iteration scheduler after every micro-batch, whatever the OptimWrapper's accumulation; mmengine has no option to step it per window: build the schedule over T x K iterations, or step the scheduler yourself after the wrapper's step.",
    ],
    [
      ["ema-per-micro-batch"],
      "EMAHook.after_train_iter updates the average after every micro-batch; EMAHook(interval=K) updates every K-th iteration but misses a window that ends an epoch or the run early: update the average yourself after the wrapper's step.",
    ],
  ]),
  fastai: causes([
    [
      COUNTS_OVER_THE_RUN,
      "GradientAccumulation(n_acc) counts samples over the whole fit and steps only once n_acc of them have passed: nothing steps at an epoch's end; step and zero the gradient in a callback's after_epoch too, or give every epoch a multiple of n_acc samples.",
    ],
    [
      WEIGHTS_PER_MICRO_BATCH,
      "GradientAccumulation scales every loss to sum / n_acc, which is right only for full windows.",
    ],
  ]),
  lightning: causes([
    [
      WEIGHTS_PER_MICRO_BATCH,
      "Trainer(accumulate_grad_batches=K) divides every micro-batch's mean loss by K, the epoch's last (shorter) window included.",
    ],
  ]),
  accelerate: causes([
    [
      WEIGHTS_PER_MICRO_BATCH,
      "accelerator.backward divides every micro-batch's mean loss by gradient_accumulation_steps, the epoch's last (shorter) window included.",
    ],
  ]),
  transformers: causes([
    [
      WEIGHTS_PER_MICRO_BATCH,
      "with a model that returns a mean loss the Trainer divides by the micro-batches in the window; let the model take num_items_in_batch and return its summed loss divided by it.",
    ],
    [
      ["loss-not-divided"],
      "a forward that takes **kwargs tells the Trainer the model divides by num_items_in_batch itself; divide by it, or drop **kwargs.",
    ],
  ]),
};

/** Where a framework's cause reads otherwise under token weighting (a loss is a mean over loss tokens). */
const TOKEN_FRAMEWORK_CAUSES: Record<string, CauseTable> = {
  transformers: causes([
    [
      WEIGHTS_PER_MICRO_BATCH,
      "with a model that returns a mean loss (over each micro-batch's own loss tokens) the Trainer divides it by the micro-batches in the window; let the model take num_items_in_batch, the window's loss tokens counted over every rank, and return its summed token loss divided by it (as python:hf-trainer-items does).",
    ],
  ]),
  lightning: causes([
    [
      WEIGHTS_PER_MICRO_BATCH,
      "Trainer(accumulate_grad_batches=K) divides every micro-batch's loss, a mean over its own loss tokens, by K; return the summed token loss divided by the window's loss tokens instead.",
    ],
  ]),
  accelerate: causes([
    [
      WEIGHTS_PER_MICRO_BATCH,
      "accelerator.backward divides every micro-batch's loss, a mean over its own loss tokens, by gradient_accumulation_steps; sum the token losses and divide by the window's loss tokens, gathered over every process.",
    ],
  ]),
};

/** What the framework itself does that produces `mistake`, when accumaudit knows it. */
export function frameworkCause(
  framework: string | undefined,
  mistake: MistakeId,
  weighting: "samples" | "tokens" = "samples",
): string | null {
  if (framework === undefined) return null;
  const tokens = weighting === "tokens" ? TOKEN_FRAMEWORK_CAUSES[framework]?.[mistake] : undefined;
  return tokens ?? FRAMEWORK_CAUSES[framework]?.[mistake] ?? null;
}
