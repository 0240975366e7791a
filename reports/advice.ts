import type { CheckJudgement } from "../properties/outcome.js";
import {
  DRAW_MISTAKE_TITLES,
  DRAW_PYTHON_REFERENCE,
  DRAW_SNIPPETS,
  DRAW_TEXT,
} from "./draw-advice.js";
import { frameworkCause } from "./framework-causes.js";
import { detectMistakes, type Evidence, type MistakeId } from "./mistakes/index.js";
import { STEP_MISTAKE_TITLES, STEP_SNIPPETS, STEP_TEXT } from "./step-advice.js";
import {
  type AdviceLanguage,
  TOKEN_MISTAKE_TITLES,
  TOKEN_PYTHON_REFERENCE,
  TOKEN_SNIPPETS,
  TOKEN_TEXT,
} from "./token-advice.js";

export type { Evidence, MistakeId } from "./mistakes/index.js";

/**
 * What to change in a failing loop: the mistake, what the trace shows of it (its evidence: the
 * steps, windows and micro-batches), the cause in one sentence, the change, code, and the loop to
 * copy. `unexplained` advice says that no known mistake explains its evidence.
 */
export interface Advice {
  id: MistakeId;
  /** The mistake in a few words. */
  title: string;
  /** What the trace shows, each piece naming where (0-based indices; its sentence counts from 1). */
  evidence: Evidence[];
  cause: string;
  change: string;
  /** The fix in the trainer's language: PyTorch for python: trainers, TensorFlow.js for the built-in ones. */
  snippet: { language: "python" | "typescript"; code: string };
  /** The correct loop shipped in the package. */
  reference: string;
  /**
   * For a trainer built on a framework's own accumulation (Lightning, Keras, fastai, ...): what
   * that framework does that makes this mistake, and how to work around it; null otherwise.
   */
  framework: { name: string; cause: string } | null;
}

type Language = AdviceLanguage;

const REFERENCE: Record<Language, { single: string; ranks: string }> = {
  python: {
    single: "trainers/python/accumaudit_probe/loops/reference.py",
    ranks: "trainers/python/accumaudit_probe/loops/ddp_reference.py",
  },
  typescript: {
    single: "trainers/tfjs/loops/reference.ts",
    ranks: "trainers/python/accumaudit_probe/loops/ddp_reference.py",
  },
};

/** Window by window, the loop every fix below converges on, in each language. */
const WINDOW_LOOP: Record<Language, string> = {
  python: `for epoch in range(epochs):
    batches = iter(loader)
    while window := list(islice(batches, K)):   # the last window holds what is left
        n = sum(len(ids) for _, _, ids in window)
        for x, y, ids in window:
            (model.per_sample_loss(x, y, ids).sum() / n).backward()
        optimizer.step()
        optimizer.zero_grad()`,
  typescript: `for (let epoch = 0; epoch < epochs; epoch++) {
  const batches = [...loader.epoch(epoch)];
  for (let first = 0; first < batches.length; first += K) {
    const window = batches.slice(first, first + K); // the last window holds what is left
    const n = window.reduce((sum, batch) => sum + batch.length, 0);
    for (const batch of window)
      gradients.backward(() => tf.div(tf.sum(model.perSampleLosses(batch)), n));
    optimizer.step();
    optimizer.zeroGrad();
  }
}`,
};

const CLEAR_AFTER_STEP: Record<Language, string> = {
  python: `optimizer.step()
optimizer.zero_grad()   # after every step, and at every epoch start`,
  typescript: `optimizer.step();
optimizer.zeroGrad(); // after every step, and at every epoch start`,
};

const SNIPPETS: Record<MistakeId, Partial<Record<Language, string>>> = {
  "no-step": WINDOW_LOOP,
  "first-step-early": WINDOW_LOOP,
  "tail-never-stepped": WINDOW_LOOP,
  "counter-across-epochs": WINDOW_LOOP,
  "tail-split": WINDOW_LOOP,
  "step-budget": {
    python: `steps_per_epoch = math.ceil(len(loader) / K)    # the last, shorter window included
max_steps = steps_per_epoch * epochs`,
  },
  "tail-divided-by-k": WINDOW_LOOP,
  "micro-batch-mean": WINDOW_LOOP,
  "loss-not-divided": WINDOW_LOOP,
  unexplained: WINDOW_LOOP,
  "applied-twice": CLEAR_AFTER_STEP,
  "skipped-step-lost": {
    python: `while True:                      # redo the window until its step is applied
    for x, y, ids in window:
        scaler.scale(model.per_sample_loss(x, y, ids).sum() / n).backward()
    scale = scaler.get_scale()
    scaler.step(optimizer)
    scaler.update()
    optimizer.zero_grad()
    if scaler.get_scale() >= scale:  # not skipped: the scale did not drop
        break`,
  },
  "sampler-padding": {
    python: `loader = ctx.make_distributed_loader(pad=False)   # shards without repeated samples
counts = torch.tensor([samples_in_my_window])
dist.all_reduce(counts)                              # the window's samples on all ranks
loss = model.per_sample_loss(x, y, ids).sum() * world_size / counts.item()`,
  },
  "per-rank-count": {
    python: `counts = torch.tensor([samples_in_my_window])
dist.all_reduce(counts)                              # the window's samples on all ranks
loss = model.per_sample_loss(x, y, ids).sum() * world_size / counts.item()`,
  },
  "replicas-drift": {
    python: `for j, (x, y, ids) in enumerate(window):
    last = j == len(window) - 1
    with nullcontext() if last else ddp_model.no_sync():   # all-reduce once per window
        (loss_of(x, y, ids) * world_size / window_samples).backward()
optimizer.step()`,
  },
  "scaled-step": {
    python: `# audited run: no clip_grad_norm_ / max_grad_norm, no constant factor on the loss
loss = model.per_sample_loss(x, y, ids).sum() / window_samples`,
  },
  "draws-with-replacement": {
    python: `# it draws with replacement: audit it as such (S: its optimizer steps)
#   accumaudit check --trainer ... --sampling replacement --steps S ...
# or, to train on every sample once per epoch, iterate a loader instead of random indices:
loader = DataLoader(dataset, batch_size=B, shuffle=True)`,
  },
  "draws-never-stepped": {
    python: `for step in range(steps):          # every window of K micro-batches gets its step
    for micro_step in range(K):
        ...                            # forward and backward of one micro-batch of draws
    optimizer.step()
    optimizer.zero_grad()`,
  },
  "body-precision": {
    python: `with ctx.autocast():   # autocast exactly as the scenario's --precision asks
    loss = model.per_sample_loss(x, y, ids).sum() / window_samples`,
  },
  "update-not-applied": {
    python: `optimizer = torch.optim.SGD(model.parameters(), lr=lr)   # lr > 0, its own step()
...
optimizer.step()        # every call applies the window: no subclass that returns early
optimizer.zero_grad()`,
    typescript: `optimizer.step(); // SgdOptimizer: phi and the body move by lr * gradient
optimizer.zeroGrad();`,
  },
  "update-applied-twice": {
    python: `optimizer.step()        # applies -lr * grad once
optimizer.zero_grad()   # no p.data -= lr * p.grad by hand after it`,
    typescript: CLEAR_AFTER_STEP.typescript,
  },
  "parameters-changed-outside-step": {
    python: `# between steps, leave the parameters to the optimizer:
# no in-place edits (p.add_, p.mul_, p.data = ..., load_state_dict) inside the audited loop
optimizer.step()
optimizer.zero_grad()`,
    typescript: `// between steps, leave the parameters to the optimizer: no variable.assign(...) in the loop
optimizer.step();
optimizer.zeroGrad();`,
  },
  ...STEP_SNIPPETS,
};

/** Each mistake in a few words, for the lead sentence of an explanation (sample weighting). */
export const MISTAKE_TITLES: Record<MistakeId, string> = {
  "no-step": "no optimizer step was taken",
  "first-step-early": "the first step came after one micro-batch",
  "tail-never-stepped": "the epoch's last window never stepped",
  "counter-across-epochs": "the micro-batch count ran across epochs",
  "tail-split": "the epoch's last window was split over several steps",
  "step-budget": "the run stopped before its epochs were done",
  "skipped-step-lost": "a skipped mixed-precision step lost its window",
  "sampler-padding": "the sampler's padding trained samples twice",
  "applied-twice": "samples were applied twice",
  "tail-divided-by-k": "the last window was divided by K",
  "micro-batch-mean": "per-micro-batch means over-weight a smaller micro-batch",
  "loss-not-divided": "the loss was never divided",
  "per-rank-count": "each rank divided by its own sample count",
  "scaled-step": "whole steps were scaled by a factor",
  "body-precision": "the body ran in a lower precision",
  "replicas-drift": "the replicas drifted apart",
  "draws-with-replacement": "the loop draws samples with replacement, not in epochs",
  "draws-never-stepped": "the last draws never reached a step",
  "update-not-applied": "the optimizer's step applied nothing",
  "update-applied-twice": "a step's gradient was applied twice",
  "parameters-changed-outside-step": "the parameters changed outside the optimizer's steps",
  ...STEP_MISTAKE_TITLES,
  unexplained: "no known mistake explains what the trace shows",
};

/** A mistake in a few words, as the weighting checked reads it. */
export function mistakeTitle(
  id: MistakeId,
  weighting: CheckJudgement["scenario"]["weighting"],
  sampling: CheckJudgement["scenario"]["sampling"] = "epochs",
): string {
  return (
    (sampling === "replacement" ? DRAW_MISTAKE_TITLES[id] : undefined) ??
    (weighting === "tokens" ? TOKEN_MISTAKE_TITLES[id] : undefined) ??
    MISTAKE_TITLES[id]
  );
}

const TEXT: Record<MistakeId, { cause: string; change: string }> = {
  "no-step": {
    cause:
      "No optimizer step ran, so every sample of the run was lost: the evidence says what the loop fed, and whether its epochs were too short for a step that waits for K micro-batches. (A step method replaced on the optimizer, as optimizer.step = lambda: None does, never reaches it either.)",
    change:
      "Step at the end of every window, the epoch's last (shorter) window included, and divide by the window's sample count.",
  },
  "first-step-early": {
    cause:
      "An epoch's first step came after its first micro-batch alone and every later step after K more, as a condition i % K == 0 with i counted from 0 does: each step holds the end of one window and the start of the next.",
    change:
      "Step after micro-batch i when (i + 1) % K == 0 or i is the epoch's last, and divide by the window's sample count.",
  },
  "tail-never-stepped": {
    cause:
      "The epoch's last window never stepped in its epoch: its gradient was applied with the next epoch's first window, or never.",
    change:
      "Step after the epoch's last micro-batch too (flush the last window), dividing by the window's sample count, and clear the gradient after every step.",
  },
  "counter-across-epochs": {
    cause:
      "The micro-batch count runs across epochs instead of starting again at every epoch: steps hold K micro-batches counted over the epoch boundary, and what the count never completes at the run's end is lost.",
    change:
      "Count micro-batches per epoch: start the count again at every epoch and step after each epoch's last micro-batch.",
  },
  "tail-split": {
    cause:
      "The epoch's last window was applied by several steps, each holding part of it, so its samples were weighted as smaller batches than their window.",
    change:
      "Step once per window: the last window holds every micro-batch left, whatever their number; do not recompute K inside it.",
  },
  "step-budget": {
    cause:
      "The run stopped before its epochs were done: the windows after its last step never completed, as a step budget (max_steps, max_iters) shorter than the epochs makes happen.",
    change:
      "Give the run the steps its epochs hold, ceil(micro-batches per epoch / K) per epoch with the last, shorter window counted, or audit the scenario with the epochs your budget really covers.",
  },
  "skipped-step-lost": {
    cause:
      "A mixed-precision step was skipped (inf or nan after loss scaling) and its window was not redone, so its samples were never applied.",
    change:
      "When GradScaler skips a step (the scale drops), run the window again at the lower scale.",
  },
  "sampler-padding": {
    cause:
      "The sampler padded the last shard with repeated samples so that every rank gets as many, so those samples were trained twice in the epoch.",
    change:
      "Shard without padding and all-reduce the window's sample count over the ranks (uneven shards), or turn padding off (Accelerate: even_batches=False); take part in every collective on every rank.",
  },
  "applied-twice": {
    cause:
      "Some samples were applied by more than one step: the gradient was not cleared after a step, or a micro-batch was fed twice.",
    change: "Clear the gradient after every optimizer step and feed each micro-batch once.",
  },
  "tail-divided-by-k": {
    cause:
      "The loss of every micro-batch was divided by K, also in a window that holds fewer than K micro-batches, so that window's samples got too little weight.",
    change:
      "Divide by the window's sample count instead: sum the per-sample losses and divide by how many samples the window holds.",
  },
  "micro-batch-mean": {
    cause:
      "Each micro-batch's mean loss was divided by the number of micro-batches in its window, so the samples of a smaller micro-batch weighed more than the others.",
    change:
      "Weight samples, not micro-batches: sum the per-sample losses and divide by the window's sample count.",
  },
  "loss-not-divided": {
    cause:
      "The loss was never divided for accumulation: each step applied a sum (of its micro-batches' mean losses, or of its samples' losses) where the window's mean was due.",
    change: "Divide by the window's sample count (or return the mean over the window's samples).",
  },
  "per-rank-count": {
    cause:
      "Each rank divided its loss by its own samples in the window and the all-reduce averaged the ranks, so the samples of a rank with fewer of them weighed more.",
    change:
      "Divide by the window's sample count over every rank: all-reduce the count, and multiply the loss by the world size, which the all-reduce divides by.",
  },
  "scaled-step": {
    cause:
      "Whole steps were scaled: every weight of a step and its body gradient were one multiple of what was due. Gradient clipping to a global norm (clip_grad_norm_, max_grad_norm) does this, and so does a constant factor in the loss.",
    change:
      "If the loop clips to a global norm, audit it with --clip-norm C (the norm it clips to): accumaudit then holds every step to its window's gradient clipped once. Take any constant factor out of the loss.",
  },
  "body-precision": {
    cause:
      "Every sample got its due weight, but the body gradient is off by what a lower precision's rounding gives: the body's forward or backward ran in bf16 or fp16 (autocast, a half-precision model or framework setting) where the check expects the precision it holds the run to.",
    change:
      "Audit with the precision the loop really trains in (--precision bf16 or fp16), or turn the lower precision off for the audited run.",
  },
  "replicas-drift": {
    cause:
      "The ranks applied different gradients at the same step: a step ran without synchronising the gradients, so the replicas drifted apart.",
    change:
      "Synchronise once per window: run the window's last backward outside no_sync(), and step every rank at the same windows.",
  },
  "draws-with-replacement": {
    cause:
      "The loop draws its micro-batches at random with replacement (as torch.randint indices do), so an epoch does not feed every sample once: some samples come twice, others never. Coverage per epoch does not apply to such a loop, and its epoch windows are not its windows.",
    change:
      "Audit it as the loop it is, with --sampling replacement --steps S (S: its optimizer steps); or, to train on every sample once per epoch, draw micro-batches from a loader over the dataset instead of random indices.",
  },
  "draws-never-stepped": {
    cause:
      "The run drew micro-batches after its last optimizer step: their gradient stayed in .grad and was never applied, as a loop that steps one time fewer than it draws windows does.",
    change:
      "Step after every K-th micro-batch, the last included: draw exactly S windows of K micro-batches, each followed by its step.",
  },
  "update-not-applied": {
    cause:
      "A step's gradient was not zero, yet the optimizer's step left every parameter as it was, so the window it held was never applied: an optimizer whose step does nothing or skips some calls, a learning rate of 0, or a step method that returns before updating.",
    change:
      "Let every optimizer step update the parameters: a learning rate above 0 and an optimizer whose step() applies the gradient on every call (no subclass that skips calls, no replaced step method).",
  },
  "update-applied-twice": {
    cause:
      "A step's gradient reached the parameters more than once: the step moved them by a whole multiple of lr·g, or the loop applied the step's update again by hand after optimizer.step() (p.data -= lr * p.grad), so every sample of that window weighed twice as much.",
    change:
      "Apply each window's gradient once: let optimizer.step() be the only update, and clear the gradient after it instead of applying it again.",
  },
  "parameters-changed-outside-step": {
    cause:
      "The parameters changed between the optimizer's steps, by something other than a step: an in-place edit (p.add_, p.mul_, p.data = ...), a weight update by hand, or a reload of the parameters. What the run trained is then not what its steps applied.",
    change:
      "Leave the parameters to the optimizer between steps in the audited loop; an update of your own goes inside a recorded step (ctx.record_step()) so that it is audited as one.",
  },
  ...STEP_TEXT,
  unexplained: {
    cause:
      "No accumulation mistake accumaudit knows explains what the trace shows; the evidence below is what it shows.",
    change:
      "Compare the loop with the reference loop window by window: one step per window of K micro-batches (the epoch's last holds the rest), each sample weighing 1 / (samples in its window).",
  },
};

/** The mistakes a failing check shows, most basic first (`unexplained` last, when anything is). */
export function mistakesOf(check: CheckJudgement): MistakeId[] {
  return detectMistakes(check).map((m) => m.id);
}

/** The language of a trainer's fix: TensorFlow.js for the built-in trainers, PyTorch otherwise. */
function languageOf(check: CheckJudgement): Language {
  return check.trainerInfo?.framework === "tensorflow.js" ? "typescript" : "python";
}

/**
 * How to fix a failing check: for each mistake its trace shows, the evidence (steps, windows,
 * micro-batches), the cause in one sentence, the change to make, a short snippet in the trainer's
 * language and the reference loop to copy; what no known mistake explains comes as `unexplained`
 * with what the trace shows. Under token weighting the fix divides by the window's loss tokens
 * instead of its samples. Empty for a check that passed.
 */
export function adviceFor(check: CheckJudgement): Advice[] {
  if (check.verdict === "pass") return [];
  const language = languageOf(check);
  const tokens = check.scenario.weighting === "tokens";
  const reference =
    check.scenario.sampling === "replacement"
      ? DRAW_PYTHON_REFERENCE
      : check.scenario.worldSize > 1
        ? REFERENCE[language].ranks
        : tokens && language === "python"
          ? TOKEN_PYTHON_REFERENCE
          : REFERENCE[language].single;
  const info = check.trainerInfo;
  // A run that draws with replacement has its own loop to copy and its own words: no epochs, no tails.
  const draws = check.scenario.sampling === "replacement";
  return detectMistakes(check).map(({ id, evidence }) => {
    const snippets =
      (draws ? DRAW_SNIPPETS[id] : undefined) ??
      (tokens ? TOKEN_SNIPPETS[id] : undefined) ??
      SNIPPETS[id];
    const code = snippets[language] ?? snippets.python ?? "";
    const cause = frameworkCause(info?.framework, id, check.scenario.weighting);
    return {
      id,
      title: mistakeTitle(id, check.scenario.weighting, check.scenario.sampling),
      evidence,
      ...((draws ? DRAW_TEXT[id] : undefined) ?? (tokens ? TOKEN_TEXT[id] : undefined) ?? TEXT[id]),
      snippet: { language: snippets[language] ? language : "python", code },
      reference,
      framework:
        cause === null
          ? null
          : { name: [info?.framework, info?.frameworkVersion].filter(Boolean).join(" "), cause },
    };
  });
}
