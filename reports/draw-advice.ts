import type { MistakeId } from "./mistakes/catalogue.js";

/** The Python loop to copy for a run that draws with replacement. */
export const DRAW_PYTHON_REFERENCE =
  "trainers/python/accumaudit_probe/loops/replacement_reference.py";

/**
 * Step by step, the loop that draws with replacement every fix converges on: K micro-batches of B
 * draws per step, every draw weighing 1 / (the window's draws), or its loss tokens over the
 * window's under token weighting.
 */
const DRAW_LOOP = `for step in range(steps):
    window = [draw_batch() for _ in range(K)]      # K micro-batches of B random draws
    units = sum(loss_units(y) for _, y, _ in window)  # draws (or their loss tokens), repeats included
    for x, y, ids in window:
        (model.loss_terms(x, y, ids).sum() / units).backward()
    optimizer.step()
    optimizer.zero_grad()                           # after every step`;

/** Snippets of the mistakes whose epoch-shaped code would mislead under replacement. */
export const DRAW_SNIPPETS: Partial<
  Record<MistakeId, Partial<Record<"python" | "typescript", string>>>
> = {
  "no-step": { python: DRAW_LOOP },
  "draws-never-stepped": { python: DRAW_LOOP },
  "tail-divided-by-k": { python: DRAW_LOOP },
  "micro-batch-mean": { python: DRAW_LOOP },
  "loss-not-divided": { python: DRAW_LOOP },
  "applied-twice": {
    python: `optimizer.step()
optimizer.zero_grad()   # after every step`,
  },
  unexplained: { python: DRAW_LOOP },
};

/** Titles that differ under replacement. */
export const DRAW_MISTAKE_TITLES: Partial<Record<MistakeId, string>> = {
  "tail-divided-by-k": "each micro-batch's mean was divided by K",
  "micro-batch-mean": "per-micro-batch means weight micro-batches, not draws",
  "applied-twice": "draws were applied by two steps",
};

/** Causes and changes that differ under replacement (no epochs, no tails). */
export const DRAW_TEXT: Partial<Record<MistakeId, { cause: string; change: string }>> = {
  "no-step": {
    cause: "No optimizer step was applied: none of the run's draws reached an update.",
    change:
      "Step after every K micro-batches of draws, dividing by the window's draws (or their loss tokens).",
  },
  "applied-twice": {
    cause:
      "Some windows' draws were applied by more than one step: the gradient was not cleared after a step, so it stayed in .grad and was applied again with the next window.",
    change: "Clear the gradient after every optimizer step (optimizer.zero_grad()).",
  },
  "tail-divided-by-k": {
    cause:
      "Each micro-batch's mean loss was divided by K, so a draw weighed 1 / (K x its micro-batch's units): right only when every micro-batch holds as many units as the others.",
    change:
      "Sum the per-draw losses of the window and divide by the window's units (its draws, or their loss tokens), counted before its backward passes.",
  },
  "micro-batch-mean": {
    cause:
      "Each micro-batch's mean loss was divided by the window's micro-batches (loss / gradient_accumulation_steps), so a draw weighed more in a micro-batch with fewer units: under token weighting, the loss tokens of a micro-batch with fewer of them weighed more than the others.",
    change:
      "Sum the per-draw losses (token losses) of the window and divide by the window's draws (loss tokens), counted before its backward passes.",
  },
  "loss-not-divided": {
    cause:
      "The loss was never divided for accumulation: each step applied the sum of its K micro-batches' mean losses, K times the window's mean.",
    change:
      "Divide every micro-batch's mean loss by K (all micro-batches hold B draws), or sum the per-draw losses and divide by the window's draws.",
  },
  unexplained: {
    cause:
      "No accumulation mistake accumaudit knows explains what the trace shows; the evidence below is what it shows.",
    change:
      "Compare the loop with the replacement reference loop step by step: K micro-batches of B draws per step, each draw weighing 1 / (draws in the window), the gradient cleared after every step.",
  },
};
