import type { CheckJudgement } from "../properties/outcome.js";
import { frameworkCause } from "./framework-causes.js";
import { findingsOf } from "./sentences/coverage.js";
import { stepFindings } from "./sentences/weighting.js";
import {
  TOKEN_MISTAKE_TITLES,
  TOKEN_PYTHON_REFERENCE,
  TOKEN_SNIPPETS,
  TOKEN_TEXT,
} from "./token-advice.js";

/** The mistakes accumaudit recognises in a failing loop. */
export type MistakeId =
  | "no-step"
  | "tail-never-stepped"
  | "window-spans-epochs"
  | "skipped-step-lost"
  | "sampler-padding"
  | "applied-twice"
  | "tail-divided-by-k"
  | "micro-batch-mean"
  | "loss-not-divided"
  | "weights-off"
  | "replicas-drift"
  | "body-off";

/** What to change in a failing loop: the cause in one sentence, the change, code, and the loop to copy. */
export interface Advice {
  id: MistakeId;
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

type Language = Advice["snippet"]["language"];

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

const SNIPPETS: Record<MistakeId, Partial<Record<Language, string>>> = {
  "no-step": WINDOW_LOOP,
  "tail-never-stepped": WINDOW_LOOP,
  "window-spans-epochs": WINDOW_LOOP,
  "tail-divided-by-k": WINDOW_LOOP,
  "micro-batch-mean": WINDOW_LOOP,
  "loss-not-divided": WINDOW_LOOP,
  "weights-off": WINDOW_LOOP,
  "applied-twice": {
    python: `optimizer.step()
optimizer.zero_grad()   # after every step, and at every epoch start`,
    typescript: `optimizer.step();
optimizer.zeroGrad(); // after every step, and at every epoch start`,
  },
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
  "replicas-drift": {
    python: `for j, (x, y, ids) in enumerate(window):
    last = j == len(window) - 1
    with nullcontext() if last else ddp_model.no_sync():   # all-reduce once per window
        (loss_of(x, y, ids) * world_size / window_samples).backward()
optimizer.step()`,
  },
  "body-off": {
    python: `# no clipping, weight decay or other change of the gradient between backward() and step()
optimizer = torch.optim.SGD(model.parameters(), lr=lr)`,
  },
};

/** Each mistake in a few words, for the lead sentence of an explanation (sample weighting). */
export const MISTAKE_TITLES: Record<MistakeId, string> = {
  "no-step": "no optimizer step was taken",
  "tail-never-stepped": "the epoch's last window never stepped",
  "window-spans-epochs": "a step mixed two epochs",
  "skipped-step-lost": "a skipped mixed-precision step lost its window",
  "sampler-padding": "the sampler's padding trained samples twice",
  "applied-twice": "samples were applied twice",
  "tail-divided-by-k": "the last window was divided by K",
  "micro-batch-mean": "per-micro-batch means over-weight a smaller micro-batch",
  "loss-not-divided": "the loss was never divided",
  "weights-off": "the weights are off",
  "replicas-drift": "the replicas drifted apart",
  "body-off": "the body gradient is off",
};

/** A mistake in a few words, as the weighting checked reads it. */
export function mistakeTitle(
  id: MistakeId,
  weighting: CheckJudgement["scenario"]["weighting"],
): string {
  return (weighting === "tokens" ? TOKEN_MISTAKE_TITLES[id] : undefined) ?? MISTAKE_TITLES[id];
}

const TEXT: Record<MistakeId, { cause: string; change: string }> = {
  "no-step": {
    cause:
      "No optimizer step was taken: the loop steps only when (i + 1) % K == 0, and an epoch has fewer than K micro-batches.",
    change:
      "Step at the end of every window, the epoch's last (shorter) window included, and divide by the window's sample count.",
  },
  "tail-never-stepped": {
    cause:
      "The epoch's last window, shorter than K micro-batches, never stepped: its gradient stayed in .grad and leaked into the next epoch's first step, and after the last epoch it was never applied.",
    change:
      "Step after the epoch's last micro-batch too (flush the last window), dividing by the window's sample count, and clear the gradient after every step.",
  },
  "window-spans-epochs": {
    cause:
      "A step held micro-batches of two epochs: the accumulation counter runs across epochs instead of starting again at every epoch.",
    change:
      "Count micro-batches per epoch (reset the counter and flush the last window at every epoch's end).",
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
      "The loss of every micro-batch was divided by K, also in the epoch's last window that holds fewer than K micro-batches, so the tail's samples got too little weight.",
    change:
      "Divide by the window's sample count instead: sum the per-sample losses and divide by how many samples the window holds.",
  },
  "micro-batch-mean": {
    cause:
      "Each micro-batch's mean loss was divided by the window's number of micro-batches, so the samples of a smaller last micro-batch weighed more than the others.",
    change:
      "Weight samples, not micro-batches: sum the per-sample losses and divide by the window's sample count.",
  },
  "loss-not-divided": {
    cause:
      "The loss was never divided for accumulation: each step applied the sum of its micro-batches' mean losses.",
    change: "Divide by the window's sample count (or return the mean over the window's samples).",
  },
  "weights-off": {
    cause:
      "A step gave its samples other weights than 1/|W|, in a way none of the common mistakes explains.",
    change:
      "Compare the loss scaling with the reference loop: every sample of a window weighs 1 / (samples in the window).",
  },
  "replicas-drift": {
    cause:
      "The ranks applied different gradients at the same step: a step ran without synchronising the gradients, so the replicas drifted apart.",
    change:
      "Synchronise once per window: run the window's last backward outside no_sync(), and step every rank at the same windows.",
  },
  "body-off": {
    cause:
      "The samples' weights are right but the body gradient is off the float64 oracle: something changed the gradient between backward() and the step (clipping, weight decay, a scaler left on).",
    change:
      "Apply the accumulated gradient as it is: no clipping or weight decay in an audited run, and unscale before the step.",
  },
};

/** The mistakes a failing check shows, most basic first. */
export function mistakesOf(check: CheckJudgement): MistakeId[] {
  const { coverage, weighting, windowing, replicas } = check.properties;
  const k = check.scenario.accumulation;
  const found: MistakeId[] = [];
  const add = (id: MistakeId) => {
    if (!found.includes(id)) found.push(id);
  };
  if (windowing.appliedSteps === 0 && windowing.expectedSteps > 0) add("no-step");
  const steps = new Map(check.steps.map((s) => [s.step, s]));
  for (const leak of findingsOf(coverage, "leaked"))
    add(
      (steps.get(leak.step)?.microBatches ?? 0) > k ? "tail-never-stepped" : "window-spans-epochs",
    );
  for (const lost of findingsOf(coverage, "lost"))
    add(lost.skippedStep === null ? "tail-never-stepped" : "skipped-step-lost");
  for (const duplicate of findingsOf(coverage, "duplicated"))
    add(duplicate.likelyCause === "sampler-padding" ? "sampler-padding" : "applied-twice");
  for (const step of stepFindings(weighting)) {
    if (step.explainedBy === "divided-by-k") add("tail-divided-by-k");
    else if (step.explainedBy === "micro-batch-mean") add("micro-batch-mean");
    else if (step.explainedBy === "not-divided") add("loss-not-divided");
    else if (found.length === 0) add("weights-off");
  }
  if (!replicas.ok) add("replicas-drift");
  if (weighting.findings.some((f) => f.kind === "body-gradient") && found.length === 0)
    add("body-off");
  return found;
}

/** The language of a trainer's fix: TensorFlow.js for the built-in trainers, PyTorch otherwise. */
function languageOf(check: CheckJudgement): Language {
  return check.trainerInfo?.framework === "tensorflow.js" ? "typescript" : "python";
}

/**
 * How to fix a failing check: for each mistake its findings show, the cause in one sentence, the
 * change to make, a short snippet in the trainer's language and the reference loop to copy.
 * Under token weighting the fix divides by the window's loss tokens instead of its samples.
 * Empty for a check that passed.
 */
export function adviceFor(check: CheckJudgement): Advice[] {
  if (check.verdict === "pass") return [];
  const language = languageOf(check);
  const tokens = check.scenario.weighting === "tokens";
  const reference =
    check.scenario.worldSize > 1
      ? REFERENCE[language].ranks
      : tokens && language === "python"
        ? TOKEN_PYTHON_REFERENCE
        : REFERENCE[language].single;
  const info = check.trainerInfo;
  return mistakesOf(check).map((id) => {
    const snippets = (tokens ? TOKEN_SNIPPETS[id] : undefined) ?? SNIPPETS[id];
    const code = snippets[language] ?? snippets.python ?? "";
    const cause = frameworkCause(info?.framework, id, check.scenario.weighting);
    return {
      id,
      ...((tokens ? TOKEN_TEXT[id] : undefined) ?? TEXT[id]),
      snippet: { language: snippets[language] ? language : "python", code },
      reference,
      framework:
        cause === null
          ? null
          : { name: [info?.framework, info?.frameworkVersion].filter(Boolean).join(" "), cause },
    };
  });
}
