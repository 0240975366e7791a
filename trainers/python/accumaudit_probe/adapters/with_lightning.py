"""PyTorch Lightning: ``Trainer(accumulate_grad_batches=K)`` around a LightningModule.

The module returns the micro-batch's mean loss from ``training_step``, as Lightning users write
it; Lightning itself decides how to scale it for accumulation and when to step.

Step semantics through Lightning's own options, as its documentation shows them:
``Trainer(gradient_clip_val=C, gradient_clip_algorithm="norm")``, ``configure_optimizers``
returning the scenario's ``LambdaLR`` with ``"interval": "step"``, the ``EMAWeightAveraging``
callback with the scenario's decay (its average watched by the recorder), and the scenario's
optimizer (SGD or AdamW). fp16 is ``precision="16-mixed"``, which Lightning turns into
``bf16-mixed`` on the CPU (no loss scaler there).

Data-parallel (worldSize W > 1): the same script in every rank, as ``torchrun`` starts it, with
``Trainer(strategy="ddp", devices=W, num_nodes=1)``. Lightning sees LOCAL_RANK in the environment,
so it starts no processes of its own; it takes the rank from the environment, joins the process
group (gloo on the CPU), wraps the module in DDP and replaces the loader's sampler with its own
``DistributedSampler``, which pads the shards to equal length and, for training, always shuffles
(seeded from PL_GLOBAL_SEED, the variable ``seed_everything`` sets, else 0). So the adapter hands
the scenario's shuffle seed to Lightning as PL_GLOBAL_SEED; an unshuffled scenario is still
shuffled by Lightning, with seed 0, and the trace's micro-batches show that order.
"""

from __future__ import annotations

import contextlib
import logging
import os
import tempfile
import warnings
from collections.abc import Iterator
from typing import Any

import lightning
import torch
from lightning.pytorch.callbacks import EMAWeightAveraging

from ..context import RunContext
from ..probe import ProbeModel

#: Lightning's ``precision`` argument for each scenario precision.
PRECISIONS = {"fp32": "32-true", "fp16": "16-mixed", "bf16": "bf16-mixed"}

logging.getLogger("lightning.pytorch").setLevel(logging.WARNING)
logging.getLogger("lightning.fabric").setLevel(logging.WARNING)
warnings.filterwarnings("ignore", message=r".*does not have many workers.*")
warnings.filterwarnings("ignore", message=r".*isinstance\(treespec, LeafSpec\)` is deprecated.*")


class ProbeClassifier(lightning.LightningModule):
    """The probe model as a LightningModule: mean loss per micro-batch, epoch tag at epoch start."""

    def __init__(self, ctx: RunContext):
        super().__init__()
        self.ctx = ctx
        self.probe: ProbeModel = ctx.model

    def training_step(self, batch: dict[str, torch.Tensor], batch_idx: int) -> torch.Tensor:
        return self.probe(batch["x"], batch["y"], batch["ids"]).loss

    def on_train_epoch_start(self) -> None:
        self.ctx.set_epoch(self.current_epoch)

    def configure_optimizers(self) -> torch.optim.Optimizer | dict[str, Any]:
        """The scenario's optimizer; with a schedule, its LambdaLR stepped by Lightning every optimizer step."""
        optimizer = self.ctx.make_optimizer()
        if self.ctx.schedule == "constant" and self.ctx.warmup_steps == 0:
            return optimizer
        scheduler = self.ctx.make_scheduler(optimizer)
        return {"optimizer": optimizer, "lr_scheduler": {"scheduler": scheduler, "interval": "step", "frequency": 1}}

    def __getstate__(self) -> dict[str, Any]:
        """A copy (the EMA callback's ``AveragedModel`` deep-copies the module) leaves the run's context behind."""
        state = super().__getstate__()
        state["ctx"] = None
        return state


def trainer_options(ctx: RunContext, root_dir: str) -> dict[str, Any]:
    """Trainer arguments for the scenario: accumulation, precision, device; no logging, checkpoints or validation.

    With ``clipNorm`` C: ``gradient_clip_val=C, gradient_clip_algorithm="norm"`` (else Lightning's
    default, no clipping). With ``ema``: Lightning's ``EMAWeightAveraging(decay)`` callback.
    With W > 1: ``strategy="ddp"`` on W devices of one node.
    """
    options: dict[str, Any] = {
        "max_epochs": ctx.epochs,
        "accumulate_grad_batches": ctx.accumulation,
        "precision": PRECISIONS[ctx.precision],
        "accelerator": "gpu" if ctx.device == "cuda" else "cpu",
        "devices": 1,
        "logger": False,
        "enable_checkpointing": False,
        "enable_progress_bar": False,
        "enable_model_summary": False,
        "num_sanity_val_steps": 0,
        "limit_val_batches": 0,
        "default_root_dir": root_dir,
    }
    if ctx.clip_norm is not None:
        options.update(gradient_clip_val=ctx.clip_norm, gradient_clip_algorithm="norm")
    if ctx.ema_decay is not None:
        options["callbacks"] = [watched_ema(ctx)]
    if ctx.is_distributed:
        options.update(strategy="ddp", devices=ctx.world_size, num_nodes=1)
    return options


def watched_ema(ctx: RunContext) -> EMAWeightAveraging:
    """Lightning's EMA callback with the scenario's decay, its average watched by the recorder.

    The callback builds its ``AveragedModel`` of the LightningModule in ``setup``; the module's
    parameters are the probe's, in the same order. The callback offers no public accessor, so the
    recorder reads ``_average_model`` (None before ``setup``).
    """
    callback = EMAWeightAveraging(decay=float(ctx.ema_decay or 0.0))

    def average() -> list[torch.Tensor] | None:
        model = callback._average_model
        return None if model is None else list(model.module.parameters())

    ctx.watch_average(average)
    return callback


#: What Lightning reads from the environment or changes there (its teardown deletes WORLD_SIZE).
ENVIRONMENT = ("PL_GLOBAL_SEED", "RANK", "LOCAL_RANK", "WORLD_SIZE", "LOCAL_WORLD_SIZE", "NODE_RANK", "GROUP_RANK")


@contextlib.contextmanager
def distributed_environment(ctx: RunContext) -> Iterator[None]:
    """With W > 1: the scenario's shuffle seed as PL_GLOBAL_SEED while Lightning runs; the environment restored after.

    Lightning ignores the loader's own generator when it swaps in its ``DistributedSampler`` and
    seeds that sampler from PL_GLOBAL_SEED, the variable a user's ``seed_everything(seed)`` sets;
    setting only the variable passes the seed on without reseeding anything else. Lightning's
    teardown deletes WORLD_SIZE from the environment; it is put back so the rank ends as it began.
    """
    if not ctx.is_distributed:
        yield
        return
    saved = {name: os.environ.get(name) for name in ENVIRONMENT}
    if ctx.shuffle_seed is None:
        os.environ.pop("PL_GLOBAL_SEED", None)
    else:
        os.environ["PL_GLOBAL_SEED"] = str(ctx.shuffle_seed)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def train(ctx: RunContext) -> None:
    """``lightning``: ``Trainer.fit`` on the scenario's loader (batch_size=B, drop_last, shuffle)."""
    ctx.set_framework("lightning", lightning.__version__)
    with tempfile.TemporaryDirectory(prefix="accumaudit-lightning-") as root_dir, distributed_environment(ctx):
        # On a CPU Lightning turns 16-mixed into bf16-mixed; the probe sees the bf16 autocast itself.
        trainer = lightning.Trainer(**trainer_options(ctx, root_dir))
        trainer.fit(ProbeClassifier(ctx), train_dataloaders=ctx.make_loader())
