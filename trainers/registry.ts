import type { Trainer } from "./contract/trainer.js";
import { createPythonTrainer, PYTHON_TRAINER_NAMES } from "./external/index.js";
import { createTfjsTrainers } from "./tfjs/index.js";

/** How a named trainer is reached. */
export interface TrainerListing {
  name: string;
  description: string;
  kind: "built-in" | "python";
}

/** Options for external (Python) trainers. */
export interface ExternalOptions {
  python?: string;
  device?: "cpu" | "cuda";
  timeoutMs?: number;
}

/** A trainer name that resolves to nothing. */
export class UnknownTrainerError extends Error {
  override name = "UnknownTrainerError";
}

const PYTHON_DESCRIPTIONS: Record<string, string> = {
  "python:docs-loop": "PyTorch: the documentation loop (step when (i+1) % K == 0, loss / K)",
  "python:tail-step": "PyTorch: documentation loop plus a step at the epoch's last micro-batch",
  "python:two-loop":
    "PyTorch: windows of min(K, left) micro-batches, loss / micro-batches in the window",
  "python:k-plus-one": "PyTorch: documentation loop with K + 1",
  "python:reference":
    "PyTorch: accumaudit's reference loop (sum of loss terms / the window's samples or loss tokens, tail flushed)",
  "python:token-reference":
    "PyTorch: the reference loop for LM fine-tuning (token losses / the window's (labels != -100) count, tail flushed)",
  "python:replacement-reference":
    "PyTorch: nanoGPT's shape done right for --sampling replacement (K micro-batches of B random draws per step, loss sum / the window's draws or loss tokens); the reference loop under epochs",
  "python:lightning": "PyTorch Lightning Trainer with accumulate_grad_batches = K",
  "python:accelerate":
    "HuggingFace Accelerate: Accelerator(gradient_accumulation_steps = K) with accumulate()",
  "python:hf-trainer":
    "HuggingFace Trainer, gradient_accumulation_steps = K, model returns a mean loss",
  "python:hf-trainer-items":
    "HuggingFace Trainer, gradient_accumulation_steps = K, model takes num_items_in_batch",
  "python:hf-trainer-kwargs":
    "HuggingFace Trainer, gradient_accumulation_steps = K, mean-loss model whose forward takes **kwargs",
  "python:ignite":
    "pytorch-ignite: create_supervised_trainer(..., gradient_accumulation_steps = K)",
  "python:keras": "Keras 3 (torch backend): model.fit with SGD(gradient_accumulation_steps = K)",
  "python:fastai":
    "fastai Learner.fit with the GradientAccumulation callback (n_acc = B x K), torch SGD",
  "python:fastai-native":
    "fastai Learner.fit with GradientAccumulation (n_acc = B x K) and fastai's own SGD",
  "python:mmengine": "mmengine Runner, OptimWrapper(accumulative_counts = K)",
  "python:poutyne": "poutyne Model.fit(batches_per_step = K)",
  "python:ddp-docs-loop":
    "PyTorch DDP over W ranks: DistributedSampler, no_sync but at the step, loss.mean() / K, step when (i+1) % K == 0",
  "python:ddp-tail-step":
    "PyTorch DDP: the DDP documentation loop plus a step after each rank's last micro-batch",
  "python:ddp-reference":
    "PyTorch DDP: accumaudit's reference loop over W ranks (unpadded shards, global sample or token count, no hang)",
  "python:accelerate-uneven":
    "HuggingFace Accelerate as python:accelerate, with even_batches=False",
  "python:accelerate-unguarded":
    "HuggingFace Accelerate as python:accelerate, clipping every micro-batch (no `if accelerator.sync_gradients:` around clip_grad_norm_)",
  "python:hf-trainer-items-uneven":
    "HuggingFace Trainer as python:hf-trainer-items, with accelerator_config even_batches=False",
};

/** Every trainer that `accumaudit list` shows: the built-in ones, then the Python ones. */
export function listTrainers(): TrainerListing[] {
  return [
    ...createTfjsTrainers().map((t) => ({
      name: t.name,
      description: t.description,
      kind: "built-in" as const,
    })),
    ...PYTHON_TRAINER_NAMES.map((name) => ({
      name,
      description: PYTHON_DESCRIPTIONS[name] ?? "PyTorch trainer",
      kind: "python" as const,
    })),
  ];
}

/** Names of the built-in trainers, the reference last. */
export function builtInTrainerNames(): string[] {
  return createTfjsTrainers().map((t) => t.name);
}

/**
 * The trainer with this name: a built-in one, a Python one (`python:NAME`), or a user's Python
 * function (`python:MODULE:FUNCTION`).
 */
export function resolveTrainer(name: string, external: ExternalOptions = {}): Trainer {
  const builtIn = createTfjsTrainers().find((t) => t.name === name);
  if (builtIn) return builtIn;
  if (name.startsWith("python:") && name.length > "python:".length) {
    const isKnown = (PYTHON_TRAINER_NAMES as readonly string[]).includes(name);
    const isUserFunction = name.split(":").length === 3;
    if (isKnown || isUserFunction) return createPythonTrainer(name, external);
  }
  const names = listTrainers().map((t) => t.name);
  throw new UnknownTrainerError(
    `--trainer: unknown trainer "${name}"; expected one of ${names.join(", ")}, or python:MODULE:FUNCTION`,
  );
}
