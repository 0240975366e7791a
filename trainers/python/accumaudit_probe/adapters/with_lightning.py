"""PyTorch Lightning: ``Trainer(accumulate_grad_batches=K)`` around a LightningModule.

The module returns the micro-batch's mean loss from ``training_step``, as Lightning users write
it; Lightning itself decides how to scale it for accumulation and when to step.
"""

from __future__ import annotations

import logging
import tempfile
import warnings
from typing import Any

import lightning
import torch

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

    def configure_optimizers(self) -> torch.optim.Optimizer:
        return self.ctx.make_optimizer()


def trainer_options(ctx: RunContext, root_dir: str) -> dict[str, Any]:
    """Trainer arguments for the scenario: accumulation, precision, device; no logging, checkpoints or validation.

    Gradient clipping stays off (Lightning's default), so the applied gradient is the accumulated one.
    """
    return {
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


def train(ctx: RunContext) -> None:
    """``lightning``: ``Trainer.fit`` on the scenario's loader (batch_size=B, drop_last, shuffle)."""
    ctx.set_framework("lightning", lightning.__version__)
    with tempfile.TemporaryDirectory(prefix="accumaudit-lightning-") as root_dir:
        trainer = lightning.Trainer(**trainer_options(ctx, root_dir))
        ran = {value: key for key, value in PRECISIONS.items()}.get(str(trainer.precision))
        if ran is not None:
            ctx.set_effective_precision(ran)  # on CPU Lightning turns 16-mixed into bf16-mixed
        trainer.fit(ProbeClassifier(ctx), train_dataloaders=ctx.make_loader())
