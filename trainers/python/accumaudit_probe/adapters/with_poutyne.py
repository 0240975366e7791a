"""Poutyne: ``Model(network, optimizer, loss_function).fit_generator(loader, epochs=E, batches_per_step=K)``.

``fit_generator`` on the scenario's loader, the Poutyne entry point for a torch ``DataLoader`` of
one's own (``fit`` and ``fit_dataset`` build their own loader, always shuffled from the global RNG
and without ``drop_last``, so they could not run the scenario's order). A Poutyne callback's
``on_epoch_begin`` sets the epoch tag; ``verbose=False`` keeps the progress bar out of the log.

The thin adapter: Poutyne reads every batch as ``(x, y)`` and calls ``network(*x)`` and
``loss_function(y_pred, y)``, but the probe's loss of a sample needs its label and its id too (the
fingerprint term). So the loader (the scenario's, made by ``ctx.make_loader`` with only its
``collate_fn`` replaced) yields ``((x, y, ids), y)``; :class:`PerSampleLosses` returns the probe's
per-sample losses (BCE with logits + fingerprint) and the loss function is their mean over the
micro-batch: exactly what ``nn.BCEWithLogitsLoss()`` (reduction ``"mean"``) gives a user's model.
Under token weighting the network returns every loss token's loss and the mean is the
micro-batch's token mean (``nn.CrossEntropyLoss(ignore_index=-100)``); Poutyne still multiplies it
by the micro-batch's sample count and divides the window by its samples (see below), so tokens
of micro-batches with fewer tokens per sample weigh more.
A Poutyne user with dict batches needs the same: a collate function that yields ``(x, y)`` pairs.

What Poutyne does with K (poutyne 1.19.0, ``poutyne/framework/model.py``,
``_fit_generator_n_batches_per_step`` and ``_fit_batch_n_batches_per_step``): the step number
restarts at 1 every epoch (``iterators.py``, ``StepIterator``); it zeroes the gradient at the
first batch of every window, back-propagates each micro-batch's mean loss times its sample count,
and before stepping divides the accumulated gradient by the window's sample count
(``_adjust_step_size``); after the epoch's last batch, if the last window did not step, it steps
it the same way. So every sample of a window weighs 1 / |window|, the tail included, and no window
crosses an epoch.

Step semantics, with Poutyne's own callbacks: clipNorm is ``ClipNorm(network.parameters(), C)``
(``callbacks/clip_grad.py``), which clips in ``on_backward_end``, after every micro-batch's backward
and before ``_adjust_step_size`` divides the window's sum by its sample count; the schedule is the
``LambdaLR(lr_lambda=f)`` callback (``callbacks/lr_scheduler.py``), whose wrapper steps torch's
scheduler in ``on_epoch_end``, once per epoch; Poutyne has no callback event at the optimizer step
(``OptimizerPolicy`` sets the rate per batch, i.e. per micro-batch). adamw is ``ctx.make_optimizer()``
handed to ``Model``. No EMA and no loss scaling: the trainer refuses ``ema`` and ``overflowStep``.

Precision: Poutyne has no mixed-precision mode (no autocast, no GradScaler), so fp16 and bf16 run
in fp32: a warning is logged and the trace records fp32. Poutyne keeps no process-wide state, so
no reset is registered.
"""

from __future__ import annotations

import logging
from typing import Any

import poutyne
import torch
from torch import nn

from ..context import RunContext
from ..probe import ProbeModel, collate

logger = logging.getLogger(__name__)


class PerSampleLosses(nn.Module):
    """The probe as a Poutyne network: ``network(x, y, ids)`` is the micro-batch's per-sample losses
    (per-token losses under token weighting: ``ProbeModel.loss_terms``)."""

    def __init__(self, probe: ProbeModel):
        super().__init__()
        self.probe = probe

    def forward(self, x: torch.Tensor, y: torch.Tensor, ids: torch.Tensor) -> torch.Tensor:
        return self.probe.loss_terms(x, y, ids)


def mean_loss(per_sample: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """The micro-batch's mean loss (what ``nn.BCEWithLogitsLoss()`` gives: reduction ``"mean"``)."""
    return per_sample.mean()


def as_input_and_target(items: list[dict[str, torch.Tensor]]) -> tuple[tuple[torch.Tensor, ...], torch.Tensor]:
    """Collates probe samples into Poutyne's ``(x, y)``: x carries the label and the sample ids the loss needs
    (token sequences padded to the longest, as :func:`probe.collate` pads them)."""
    batch = collate(items)
    return (batch["x"], batch["y"], batch["ids"]), batch["y"]


class EpochTag(poutyne.Callback):
    """Sets the probe's epoch tag at every epoch start (Poutyne counts epochs from 1)."""

    def __init__(self, ctx: RunContext):
        super().__init__()
        self.ctx = ctx

    def on_epoch_begin(self, epoch_number: int, logs: dict[str, Any]) -> None:
        self.ctx.set_epoch(epoch_number - 1)


def step_callbacks(ctx: RunContext, network: nn.Module) -> list[poutyne.Callback]:
    """Poutyne's callbacks for the scenario's clipping and schedule, as its documentation adds them:
    ``ClipNorm(network.parameters(), C)`` and the ``LambdaLR`` callback with the scenario's factor."""
    callbacks: list[poutyne.Callback] = []
    if ctx.clip_norm is not None:
        callbacks.append(poutyne.ClipNorm(network.parameters(), ctx.clip_norm))
    if ctx.schedule != "constant" or ctx.warmup_steps > 0:
        callbacks.append(poutyne.LambdaLR(lr_lambda=ctx.schedule_factor))
    return callbacks


def train(ctx: RunContext) -> None:
    """``poutyne``: ``Model.fit_generator(loader, epochs=E, batches_per_step=K)`` on the scenario's loader."""
    ctx.set_framework("poutyne", poutyne.__version__)
    if ctx.precision != "fp32":
        logger.warning(
            "poutyne: precision %s on %s runs in fp32 (Poutyne has no mixed-precision training)",
            ctx.precision,
            ctx.device,
        )
    network = PerSampleLosses(ctx.model)
    model = poutyne.Model(network, ctx.make_optimizer(), mean_loss, device=ctx.device)
    model.fit_generator(
        ctx.make_loader(collate_fn=as_input_and_target),
        epochs=ctx.epochs,
        batches_per_step=ctx.accumulation,
        verbose=False,
        callbacks=[EpochTag(ctx), *step_callbacks(ctx, network)],
    )
