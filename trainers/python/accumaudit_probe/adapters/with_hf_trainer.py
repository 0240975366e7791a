"""HuggingFace transformers ``Trainer`` with ``gradient_accumulation_steps=K``.

Three models, as users write them:

- ``hf-trainer``: the model returns the micro-batch's mean loss (``accepts_loss_kwargs = False``);
  the Trainer divides it by the number of micro-batches it accumulates.
- ``hf-trainer-items``: the model takes ``num_items_in_batch`` and returns ``sum / num_items_in_batch``
  (``accepts_loss_kwargs = True``); the Trainer counts the window's labels and passes that count.
- ``hf-trainer-kwargs``: the model returns the mean loss but its ``forward`` takes ``**kwargs``
  (common in custom models). HF reads ``**kwargs`` as "accepts loss kwargs", passes
  ``num_items_in_batch`` (ignored), assumes the loss is already normalised and divides it by nothing.

Token weighting (``scenario.weighting == "tokens"``): the same three as causal-LM models, the
batch keys an LM fine-tuning collator gives, ``input_ids`` and ``labels`` ([B, L], padded to the
micro-batch's longest sequence, labels padded with -100) plus ``ids``; ``forward(input_ids, labels,
ids[, num_items_in_batch])`` returns the micro-batch's loss-token mean or its token-loss sum / the
``num_items_in_batch`` the Trainer counted (``labels != -100`` over the window's micro-batches).

Step semantics, through ``TrainingArguments`` as HF documents them (:func:`step_options`):

- ``--clip-norm C``: ``max_grad_norm=C``. Without it clipping is off (``max_grad_norm=0``): HF clips
  to norm 1.0 by default, which rescales the applied gradient and would hide how the Trainer
  weighted the samples of a window.
- ``--schedule linear|cosine|constant`` with ``--warmup-steps w``: ``lr_scheduler_type`` ``"linear"``,
  ``"cosine"``, ``"constant"`` (``"constant_with_warmup"`` when w > 0) and ``warmup_steps=w``; the
  Trainer makes the scheduler over the steps it counts itself. ``step`` has no
  ``lr_scheduler_type``: the scenario's ``LambdaLR`` (``ctx.make_scheduler``) goes in through the
  documented ``Trainer(optimizers=(optimizer, scheduler))``.
- ``--optimizer adamw``: ``optim="adamw_torch"`` with ``weight_decay=0.01`` (the Trainer's default
  betas 0.9/0.999 and eps 1e-8; it leaves "bias"/norm parameters out of the decay).
- ``--ema``: refused (registry): the Trainer keeps no moving average of the weights.

Data-parallel (worldSize W > 1): the same script in every rank, as ``torchrun`` starts it. The
Trainer's Accelerator reads the rank from the environment (``use_cpu=True`` on the CPU, gloo),
wraps the model in DDP and shards HF's own sampler by batches, padding the last ones from the
start of the epoch (Accelerate's ``even_batches``, on by default). With ``num_items_in_batch`` the
Trainer gathers the window's item count over all ranks (``average_tokens_across_devices``).
``hf-trainer-items-uneven`` sets ``accelerator_config={"even_batches": False}``: no padding.
"""

from __future__ import annotations

import logging
import tempfile
import warnings
from collections.abc import Sequence
from typing import Any

import torch
import transformers
from torch import nn
from transformers import PrinterCallback, Trainer, TrainerCallback, TrainingArguments

from ..context import ADAMW_WEIGHT_DECAY, RunContext
from ..probe import ProbeModel, ProbeOutput
from ..probe import collate as probe_collate
from .framework_state import freeze_imported_objects, warn_if_fp16_ignored

transformers.logging.set_verbosity_error()
logging.getLogger("accelerate").setLevel(logging.ERROR)
warnings.filterwarnings("ignore", message=r".*pin_memory.*")
freeze_imported_objects()


class _ProbeWrapper(nn.Module):
    """An HF-style model around the probe (``self.probe``); subclasses differ in ``forward``'s
    signature, which is what the Trainer inspects."""

    def __init__(self, probe: ProbeModel):
        super().__init__()
        self.probe = probe


class MeanLossClassifier(_ProbeWrapper):
    """An HF-style model around the probe: ``forward(x, labels, ids)`` returns the mean loss."""

    accepts_loss_kwargs = False

    def forward(self, x: torch.Tensor, labels: torch.Tensor, ids: torch.Tensor) -> ProbeOutput:
        return self.probe(x, labels, ids)


class ItemCountClassifier(_ProbeWrapper):
    """An HF-style model around the probe that normalises by ``num_items_in_batch`` when the Trainer passes it."""

    accepts_loss_kwargs = True

    def forward(
        self,
        x: torch.Tensor,
        labels: torch.Tensor,
        ids: torch.Tensor,
        num_items_in_batch: int | torch.Tensor | None = None,
    ) -> ProbeOutput:
        return self.probe(x, labels, ids, num_items_in_batch=num_items_in_batch)


class KwargsMeanLossClassifier(_ProbeWrapper):
    """An HF-style model around the probe whose ``forward`` swallows ``**kwargs`` and returns the mean loss."""

    def forward(self, x: torch.Tensor, labels: torch.Tensor, ids: torch.Tensor, **kwargs: Any) -> ProbeOutput:
        return self.probe(x, labels, ids)


class MeanLossCausalLM(_ProbeWrapper):
    """Token weighting: an HF-style causal LM around the probe, ``forward(input_ids, labels, ids)``
    returns the micro-batch's loss-token mean."""

    accepts_loss_kwargs = False

    def forward(self, input_ids: torch.Tensor, labels: torch.Tensor, ids: torch.Tensor) -> ProbeOutput:
        return self.probe(input_ids, labels, ids)


class ItemCountCausalLM(_ProbeWrapper):
    """Token weighting: an HF-style causal LM around the probe that returns the sum of its token
    losses / ``num_items_in_batch`` when the Trainer passes it (the token mean otherwise)."""

    accepts_loss_kwargs = True

    def forward(
        self,
        input_ids: torch.Tensor,
        labels: torch.Tensor,
        ids: torch.Tensor,
        num_items_in_batch: int | torch.Tensor | None = None,
    ) -> ProbeOutput:
        return self.probe(input_ids, labels, ids, num_items_in_batch=num_items_in_batch)


class KwargsMeanLossCausalLM(_ProbeWrapper):
    """Token weighting: a causal LM around the probe whose ``forward`` swallows ``**kwargs`` and returns the token mean."""

    def forward(self, input_ids: torch.Tensor, labels: torch.Tensor, ids: torch.Tensor, **kwargs: Any) -> ProbeOutput:
        return self.probe(input_ids, labels, ids)


class EpochTag(TrainerCallback):
    """Sets the probe's epoch tag at every epoch start."""

    def __init__(self, ctx: RunContext):
        self.ctx = ctx
        self.epoch = 0

    def on_epoch_begin(self, args: TrainingArguments, state: Any, control: Any, **kwargs: Any) -> None:
        self.ctx.set_epoch(self.epoch)
        self.epoch += 1


def collate(items: Sequence[dict[str, torch.Tensor]]) -> dict[str, torch.Tensor]:
    """Probe samples to a batch with HF's key for targets: ``labels`` (the Trainer counts items from it)."""
    return {
        "x": torch.stack([item["x"] for item in items]),
        "labels": torch.stack([item["y"] for item in items]),
        "ids": torch.stack([item["ids"] for item in items]),
    }


def collate_tokens(items: Sequence[dict[str, torch.Tensor]]) -> dict[str, torch.Tensor]:
    """Token sequences to an LM batch: ``input_ids`` and ``labels`` [B, L] padded to the longest (labels with -100), ``ids``."""
    batch = probe_collate(items)
    return {"input_ids": batch["x"], "labels": batch["y"], "ids": batch["ids"]}


#: ``lr_scheduler_type`` of each scenario schedule HF names (``step`` has none).
SCHEDULER_TYPES = {"constant": "constant", "linear": "linear", "cosine": "cosine"}


def step_options(ctx: RunContext) -> dict[str, Any]:
    """The TrainingArguments of the scenario's step semantics (clipping, schedule, optimizer)."""
    schedule = SCHEDULER_TYPES.get(ctx.schedule, "constant")  # "step": the scheduler comes through optimizers=
    if schedule == "constant" and ctx.warmup_steps > 0:
        schedule = "constant_with_warmup"
    options: dict[str, Any] = {
        "max_grad_norm": 0.0 if ctx.clip_norm is None else ctx.clip_norm,
        "lr_scheduler_type": schedule,
        "warmup_steps": ctx.warmup_steps,
    }
    if ctx.scenario.get("optimizer", "sgd") == "adamw":
        options.update(optim="adamw_torch", weight_decay=ADAMW_WEIGHT_DECAY)
    return options


def optimizers(ctx: RunContext) -> tuple[Any, Any]:
    """``Trainer(optimizers=...)``: the scenario's SGD (HF builds AdamW itself from ``optim``), and
    under the ``step`` schedule the scenario's ``LambdaLR`` on the optimizer, which HF has no name for."""
    adamw = ctx.scenario.get("optimizer", "sgd") == "adamw"
    if ctx.schedule != "step":
        return (None if adamw else ctx.make_optimizer(), None)
    optimizer = ctx.make_optimizer()
    return optimizer, ctx.make_scheduler(optimizer)


def training_arguments(ctx: RunContext, output_dir: str, even_batches: bool = True) -> TrainingArguments:
    """TrainingArguments for the scenario (its step semantics from :func:`step_options`); no
    logging, saving or reporting.

    ``even_batches=False`` goes to the Trainer's Accelerator through ``accelerator_config``.
    """
    shuffle_seed = ctx.shuffle_seed
    options: dict[str, Any] = step_options(ctx)
    if not even_batches:
        options["accelerator_config"] = {"even_batches": False}
    return TrainingArguments(
        output_dir=output_dir,
        num_train_epochs=ctx.epochs,
        per_device_train_batch_size=ctx.batch_size,
        gradient_accumulation_steps=ctx.accumulation,
        dataloader_drop_last=ctx.drop_last,
        train_sampling_strategy="sequential" if shuffle_seed is None else "random",
        data_seed=shuffle_seed,
        seed=int(ctx.scenario["dataSeed"]),
        learning_rate=ctx.learning_rate,
        fp16=ctx.precision == "fp16",
        bf16=ctx.precision == "bf16",
        use_cpu=ctx.device == "cpu",
        report_to="none",
        save_strategy="no",
        logging_strategy="no",
        eval_strategy="no",
        disable_tqdm=True,
        remove_unused_columns=False,
        dataloader_pin_memory=False,
        **options,
    )


def run_trainer(ctx: RunContext, model: nn.Module, even_batches: bool = True) -> None:
    """Trains ``model`` (which wraps ``ctx.model``) with HF Trainer on the scenario."""
    ctx.set_framework("transformers", transformers.__version__)
    with tempfile.TemporaryDirectory(prefix="accumaudit-hf-") as output_dir:
        trainer = Trainer(
            model=model,
            args=training_arguments(ctx, output_dir, even_batches),
            train_dataset=ctx.dataset,
            data_collator=collate_tokens if ctx.model.tokens else collate,
            optimizers=optimizers(ctx),
            callbacks=[EpochTag(ctx)],
        )
        trainer.remove_callback(PrinterCallback)
        warn_if_fp16_ignored(trainer.accelerator, "transformers", ctx.precision)  # the probe sees fp32 run
        trainer.train()


def train_mean_loss(ctx: RunContext) -> None:
    """``hf-trainer``: mean loss per micro-batch (over its loss tokens under token weighting)."""
    run_trainer(ctx, (MeanLossCausalLM if ctx.model.tokens else MeanLossClassifier)(ctx.model))


def train_item_count(ctx: RunContext) -> None:
    """``hf-trainer-items``: sum / ``num_items_in_batch`` (the window's samples, or its loss tokens)."""
    run_trainer(ctx, item_count_model(ctx))


def item_count_model(ctx: RunContext) -> nn.Module:
    """The ``num_items_in_batch`` model for the scenario's weighting."""
    return (ItemCountCausalLM if ctx.model.tokens else ItemCountClassifier)(ctx.model)


def train_item_count_uneven(ctx: RunContext) -> None:
    """``hf-trainer-items-uneven``: ``hf-trainer-items`` with ``accelerator_config={"even_batches": False}``.

    Run as users run it. When the ranks get different numbers of windows per epoch, the Trainer's
    per-window item-count gather and DDP's all-reduce pair with another rank's next window (one
    step mixing two epochs) until gloo aborts a rank on mismatched message sizes (seen with
    transformers 5.24 on gloo): the harness reports the rank that died.
    """
    run_trainer(ctx, item_count_model(ctx), even_batches=False)


def train_kwargs_mean_loss(ctx: RunContext) -> None:
    """``hf-trainer-kwargs``: mean loss from a ``forward(..., **kwargs)``."""
    run_trainer(ctx, (KwargsMeanLossCausalLM if ctx.model.tokens else KwargsMeanLossClassifier)(ctx.model))
