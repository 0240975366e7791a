"""PyTorch-Ignite: ``create_supervised_trainer(..., gradient_accumulation_steps=K)`` and ``trainer.run``.

The trainer is built the way Ignite's documentation builds one: the model, the optimizer, a loss
function and a ``prepare_batch`` that turns the loader's dict batches into ``(x, y)``; an
``Events.EPOCH_STARTED`` handler sets the epoch tag; ``trainer.run(loader, max_epochs=E)`` on the
scenario's loader (batch_size=B, drop_last, seeded shuffle, made once).

The thin adapter (no bend of Ignite itself): Ignite calls ``model(x)`` and ``loss_fn(y_pred, y)``,
but the probe's loss of a sample needs its label and its id too (the fingerprint term). So
``prepare_batch`` hands ``x = (x, y, ids)`` to :class:`PerSampleLosses`, whose forward is the probe's
per-sample losses (BCE with logits + fingerprint), and the loss function is their mean over the
micro-batch: exactly what ``nn.BCEWithLogitsLoss()`` (reduction ``"mean"``) gives a user's model.
Under token weighting the forward gives every loss token's loss (``ProbeModel.loss_terms``) and
their mean is the micro-batch's token mean, what ``nn.CrossEntropyLoss(ignore_index=-100)`` gives.

What Ignite does with K (pytorch-ignite 0.5.5, ``ignite/engine/__init__.py``,
``supervised_training_step``): it zeroes the gradient when ``(engine.state.iteration - 1) % K == 0``,
divides every micro-batch's loss by K, and steps when ``engine.state.iteration % K == 0``. The
iteration counter runs across epochs (``ignite/engine/engine.py``: set to 0 once in ``run``,
``+= 1`` per batch), so a window is K consecutive batches of the whole run, not of an epoch: when
an epoch's batch count is not a multiple of K its last window reaches into the next epoch (one step
mixes two epochs), and the run's last window, if short, is never applied. A window's samples
weigh 1 / (K * |their micro-batch|), not 1 / |window|, when an epoch's last micro-batch is short.
``gradient_accumulation_steps`` is right only when K divides
the number of micro-batches per epoch and every micro-batch holds B samples (``drop_last``, or B
dividing N); otherwise a user must write the update function for ``Engine`` themself: windows
counted per epoch, the tail stepped, the loss summed over the window's samples.

Precision: Ignite's only mixed precision, ``amp_mode="amp"``, hard-codes ``torch.autocast("cuda")``
(float16) and a CUDA GradScaler, whatever the device (``supervised_training_step_amp``): on the CPU
it does nothing, and there is no bf16 mode. So fp16 and bf16 run in fp32 here: a warning is logged
and the trace records fp32 (the probe model sees it). Ignite keeps no process-wide state,
so no reset is registered.

Step semantics (issue 21), each the way Ignite's documentation attaches it:

- schedule / warmupSteps: ``LRScheduler(ctx.make_scheduler(optimizer))`` (the scenario's
  ``LambdaLR``, warm-up included) attached on ``Events.ITERATION_STARTED``, as the ``LRScheduler``
  docstring of 0.5.5 attaches it (``ignite/handlers/param_scheduler.py``; ``use_legacy=True`` is
  the older ``ITERATION_COMPLETED`` form). ``ParamScheduler.__call__`` sets the rate and moves the
  torch scheduler one step on every event, and the event fires once per micro-batch
  (``Engine._run_once_on_dataset_as_gen``), not once per optimizer step.
- ema: ``EMAHandler(model, momentum=1 - decay)`` (Ignite's update is
  ``ema = (1 - momentum) * ema + momentum * theta``, ``ignite/handlers/ema_handler.py``), attached
  with ``ema_handler.attach(trainer)``: its default event is ``Events.ITERATION_COMPLETED``, every
  micro-batch. The average starts from a copy of the initial model.
- optimizer: ``ctx.make_optimizer()`` (SGD or AdamW); Ignite calls ``optimizer.step()`` itself.
- overflowStep: the run is fp32 (above), so no GradScaler is there to skip the overflowing step.
- clipNorm: refused. ``create_supervised_trainer`` / ``supervised_training_step`` take no clipping
  argument and ``ignite.handlers`` has no clipping handler; no event fires between the last
  backward pass and ``optimizer.step()`` inside the update function, so a clip needs a user's own
  update function.
"""

from __future__ import annotations

import logging
from typing import Any

import ignite
import torch
from ignite.engine import Engine, Events, create_supervised_trainer
from ignite.handlers import EMAHandler
from ignite.handlers.param_scheduler import LRScheduler
from torch import nn

from ..context import RunContext
from ..probe import ProbeModel

logger = logging.getLogger(__name__)


class PerSampleLosses(nn.Module):
    """The probe as an Ignite model: ``model((x, y, ids))`` is the micro-batch's per-sample losses
    (per-token losses under token weighting: ``ProbeModel.loss_terms``)."""

    def __init__(self, probe: ProbeModel):
        super().__init__()
        self.probe = probe

    def forward(self, inputs: tuple[torch.Tensor, torch.Tensor, torch.Tensor]) -> torch.Tensor:
        x, y, ids = inputs
        return self.probe.loss_terms(x, y, ids)


def mean_loss(per_sample: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """The micro-batch's mean loss (what ``nn.BCEWithLogitsLoss()`` gives: reduction ``"mean"``)."""
    return per_sample.mean()


def prepare_batch(batch: dict[str, torch.Tensor], device: Any = None, non_blocking: bool = False) -> tuple[Any, Any]:
    """A loader batch as Ignite's ``(x, y)``: x carries the label and the sample ids the probe's loss needs."""
    x, y, ids = (batch[key].to(device, non_blocking=non_blocking) for key in ("x", "y", "ids"))
    return (x, y, ids), y


def run_in_fp32(ctx: RunContext) -> None:
    """fp16/bf16 asked: Ignite has no CPU or bf16 autocast, so the run is fp32; says so (the probe records it)."""
    if ctx.precision != "fp32":
        logger.warning(
            "ignite: precision %s on %s runs in fp32"
            " (Ignite's amp_mode='amp' is torch.autocast('cuda') in float16 only)",
            ctx.precision,
            ctx.device,
        )


def has_schedule(ctx: RunContext) -> bool:
    """True when the scenario asks for a learning-rate schedule (or a warm-up)."""
    return ctx.schedule != "constant" or ctx.warmup_steps > 0


def attach_step_handlers(trainer: Engine, model: nn.Module, optimizer: torch.optim.Optimizer, ctx: RunContext) -> None:
    """The scenario's schedule and EMA as Ignite handlers, attached as Ignite's docstrings attach them."""
    if has_schedule(ctx):
        trainer.add_event_handler(Events.ITERATION_STARTED, LRScheduler(ctx.make_scheduler(optimizer)))
    decay = ctx.ema_decay
    if decay is not None:
        ema_handler = EMAHandler(model, momentum=1.0 - decay)
        ema_handler.attach(trainer)
        ctx.watch_average(lambda: list(ema_handler.ema_model.parameters()))


def train(ctx: RunContext) -> None:
    """``ignite``: ``create_supervised_trainer(gradient_accumulation_steps=K)``, ``run(loader, max_epochs=E)``."""
    ctx.set_framework("pytorch-ignite", ignite.__version__)
    run_in_fp32(ctx)
    model = PerSampleLosses(ctx.model)
    optimizer = ctx.make_optimizer()
    trainer = create_supervised_trainer(
        model,
        optimizer,
        mean_loss,
        device=ctx.device,
        prepare_batch=prepare_batch,
        gradient_accumulation_steps=ctx.accumulation,
    )

    @trainer.on(Events.EPOCH_STARTED)
    def tag_epoch(engine: Engine) -> None:
        ctx.set_epoch(engine.state.epoch - 1)  # Ignite counts epochs from 1

    attach_step_handlers(trainer, model, optimizer, ctx)
    trainer.run(ctx.make_loader(), max_epochs=ctx.epochs)
