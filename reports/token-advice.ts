import type { MistakeId } from "./mistakes/catalogue.js";

/** The languages advice gives code in: PyTorch for python: trainers, TensorFlow.js for the built-in ones. */
export type AdviceLanguage = "python" | "typescript";

type Language = AdviceLanguage;

/** The Python loop to copy under token weighting, one process; ranks copy the DDP reference, which counts tokens too. */
export const TOKEN_PYTHON_REFERENCE = "trainers/python/accumaudit_probe/loops/token_reference.py";

/**
 * Window by window, the token-weighted loop every fix converges on: the window's summed token
 * losses over its loss tokens (the labels other than -100), as `num_items_in_batch` gives them.
 */
export const TOKEN_WINDOW_LOOP: Record<Language, string> = {
  python: `for epoch in range(epochs):
    batches = iter(loader)
    while window := list(islice(batches, K)):   # the last window holds what is left
        n = sum((b["labels"][..., 1:] != -100).sum() for b in window)   # its loss tokens
        # data-parallel: dist.all_reduce(n) and multiply each loss by world_size
        for b in window:
            logits = model(b["input_ids"]).logits[..., :-1, :]
            loss = F.cross_entropy(logits.flatten(0, 1), b["labels"][..., 1:].flatten(),
                                   ignore_index=-100, reduction="sum")
            (loss / n).backward()
        optimizer.step()
        optimizer.zero_grad()`,
  typescript: `for (let epoch = 0; epoch < epochs; epoch++) {
  const batches = [...loader.epoch(epoch)];
  for (let first = 0; first < batches.length; first += K) {
    const window = batches.slice(first, first + K); // the last window holds what is left
    const n = window.reduce((sum, batch) => sum + model.lossUnitCount(batch), 0); // loss tokens
    for (const batch of window)
      gradients.backward(() => tf.div(tf.sum(model.lossTerms(batch)), Math.max(n, 1)));
    optimizer.step();
    optimizer.zeroGrad();
  }
}`,
};

const DIVIDE_BY_TOKENS =
  "Sum the token losses (reduction='sum' over the labels other than -100) and divide by the window's loss-token count, counted over every rank (all-reduce it); with the HuggingFace Trainer, use a model that takes num_items_in_batch and returns its summed token loss divided by it (as python:hf-trainer-items does).";

/** The snippets that change under token weighting; the others hold for both weightings. */
export const TOKEN_SNIPPETS: Partial<Record<MistakeId, Partial<Record<Language, string>>>> = {
  "no-step": TOKEN_WINDOW_LOOP,
  "first-step-early": TOKEN_WINDOW_LOOP,
  "tail-never-stepped": TOKEN_WINDOW_LOOP,
  "counter-across-epochs": TOKEN_WINDOW_LOOP,
  "tail-split": TOKEN_WINDOW_LOOP,
  "tail-divided-by-k": TOKEN_WINDOW_LOOP,
  "micro-batch-mean": TOKEN_WINDOW_LOOP,
  "loss-not-divided": TOKEN_WINDOW_LOOP,
  unexplained: TOKEN_WINDOW_LOOP,
  "per-rank-count": {
    python: `n = torch.tensor([loss_tokens_in_my_window])         # labels != -100
dist.all_reduce(n)                                   # the window's loss tokens on all ranks
loss = token_loss_sum * world_size / n.item()`,
  },
  "sampler-padding": {
    python: `loader = ctx.make_distributed_loader(pad=False)   # shards without repeated samples
n = torch.tensor([loss_tokens_in_my_window])         # labels != -100
dist.all_reduce(n)                                   # the window's loss tokens on all ranks
loss = token_loss_sum * world_size / n.item()`,
  },
};

/** Each mistake in a few words under token weighting, where the sample-weighted title would mislead. */
export const TOKEN_MISTAKE_TITLES: Partial<Record<MistakeId, string>> = {
  "tail-divided-by-k": "each micro-batch's token mean was divided by K",
  "micro-batch-mean": "per-micro-batch token means over-weight the tokens of shorter micro-batches",
};

/** The cause and change of each mistake under token weighting, where they differ. */
export const TOKEN_TEXT: Partial<Record<MistakeId, { cause: string; change: string }>> = {
  "no-step": {
    cause: "No optimizer step was applied: every sample of the run was lost.",
    change:
      "Step at the end of every window, the epoch's last (shorter) window included, and divide by the window's loss-token count.",
  },
  "tail-never-stepped": {
    cause:
      "The epoch's last window never stepped in its epoch: its gradient was applied with the next epoch's first window, or never.",
    change:
      "Step after the epoch's last micro-batch too (flush the last window), dividing by the window's loss-token count, and clear the gradient after every step.",
  },
  "tail-divided-by-k": {
    cause:
      "Each micro-batch's loss was the mean over its own loss tokens, divided by K: a loss token weighed 1 / (K × its micro-batch's loss tokens), more in a micro-batch with fewer loss tokens, and the window's tokens did not add up to one full batch when the window held fewer than K micro-batches.",
    change: DIVIDE_BY_TOKENS,
  },
  "micro-batch-mean": {
    cause:
      "Each micro-batch's loss was the mean over its own loss tokens, divided by the window's number of micro-batches, so the loss tokens of a micro-batch with fewer of them weighed more than the others.",
    change: DIVIDE_BY_TOKENS,
  },
  "loss-not-divided": {
    cause:
      "The loss was never divided for accumulation: each step applied the sum of its micro-batches' token-mean losses.",
    change: "Divide the window's summed token loss by the window's loss-token count.",
  },
  unexplained: {
    cause:
      "No accumulation mistake accumaudit knows explains what the trace shows; the evidence below is what it shows.",
    change:
      "Compare the loop with the reference loop window by window: every loss token of a window weighs 1 / (loss tokens in the window).",
  },
  "per-rank-count": {
    cause:
      "Each rank divided its loss by its own loss tokens in the window and the all-reduce averaged the ranks, so the tokens of a rank with fewer of them weighed more.",
    change: DIVIDE_BY_TOKENS,
  },
  "sampler-padding": {
    cause:
      "The sampler padded the last shard with repeated samples so that every rank gets as many, so those samples were trained twice in the epoch.",
    change:
      "Shard without padding and all-reduce the window's loss-token count over the ranks (uneven shards), or turn padding off (Accelerate: even_batches=False); take part in every collective on every rank.",
  },
};
