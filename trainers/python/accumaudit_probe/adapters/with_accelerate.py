"""HuggingFace Accelerate: the loop from its gradient-accumulation guide.

``Accelerator(gradient_accumulation_steps=K)``; every micro-batch runs inside
``accelerator.accumulate(model)`` with an unconditional ``optimizer.step()`` and
``optimizer.zero_grad()``, which the prepared optimizer turns into no-ops until Accelerate
decides to sync. The loss is the micro-batch's mean; ``accelerator.backward`` scales it.
Clipping, the prepared scheduler and the average follow the docs' loop (see :func:`train`);
``accelerate-unguarded`` clips without the ``if accelerator.sync_gradients:`` guard.

Data-parallel (worldSize W > 1): the same script in every rank, as ``torchrun`` starts it. The
Accelerator reads the rank from the environment, joins the process group (gloo on the CPU),
wraps the model in DDP and shards the prepared loader itself: the loader's batches are dealt out
round robin, and with ``even_batches=True`` (the default) the last ones are filled up with samples
from the start of the epoch so that every rank has as many batches. ``accelerate-uneven`` turns
that off with ``DataLoaderConfiguration(even_batches=False)``. One bend, W > 1 only: a 50 ms pause
before ``end_training`` (``let_gloo_threads_settle``), which works around a torch/gloo deadlock when
the group is destroyed right after the last backward; it changes no gradient.
"""

from __future__ import annotations

import accelerate
from accelerate import Accelerator, DataLoaderConfiguration

from ..context import RunContext
from .framework_state import let_gloo_threads_settle, warn_if_fp16_ignored

#: Accelerate's ``mixed_precision`` argument for each scenario precision.
MIXED_PRECISION = {"fp32": "no", "fp16": "fp16", "bf16": "bf16"}


def train(ctx: RunContext, even_batches: bool = True, guard_clipping: bool = True) -> None:
    """``accelerate``: the guide's loop with the scenario's K, mixed precision and device.

    ``cpu=True`` on the CPU is what a user passes there; it is also what makes Accelerate treat
    externally started ranks on a machine without an accelerator as one data-parallel run
    (without it each rank would train the whole dataset alone).

    Step semantics as the docs write them: the scheduler is prepared with the optimizer and
    stepped after every ``optimizer.step()`` (Accelerate's ``AcceleratedScheduler`` decides whether
    it moves); with ``clipNorm`` C, ``accelerator.clip_grad_norm_(model.parameters(), C)`` under
    ``if accelerator.sync_gradients:`` (``guard_clipping=False``: on every micro-batch). Accelerate
    keeps no average of the weights; with ``ema`` the run's ``AveragedModel`` (``ctx.make_ema()``)
    is updated where Accelerate's examples update theirs, after the ``accumulate`` block under
    ``if accelerator.sync_gradients:``.
    """
    ctx.set_framework("accelerate", accelerate.__version__)
    options = {} if even_batches else {"dataloader_config": DataLoaderConfiguration(even_batches=False)}
    accelerator = Accelerator(
        gradient_accumulation_steps=ctx.accumulation,
        mixed_precision=MIXED_PRECISION[ctx.precision],
        cpu=ctx.device == "cpu",
        **options,
    )
    warn_if_fp16_ignored(accelerator, "accelerate", ctx.precision)  # the probe sees the fp32 forward passes
    optimizer = ctx.make_optimizer()
    model, optimizer, loader, scheduler = accelerator.prepare(
        ctx.model, optimizer, ctx.make_loader(), ctx.make_scheduler(optimizer)
    )
    ema = None if ctx.ema_decay is None else ctx.make_ema()
    clip_norm = ctx.clip_norm
    model.train()
    for epoch in range(ctx.epochs):
        ctx.set_epoch(epoch)
        for batch in loader:
            with accelerator.accumulate(model):
                loss = model(batch["x"], batch["y"], batch["ids"]).loss
                accelerator.backward(loss)
                if clip_norm is not None and (accelerator.sync_gradients or not guard_clipping):
                    accelerator.clip_grad_norm_(model.parameters(), clip_norm)
                optimizer.step()
                scheduler.step()
                optimizer.zero_grad()
            if ema is not None and accelerator.sync_gradients:
                ema.update_parameters(accelerator.unwrap_model(model))
    let_gloo_threads_settle(ctx)
    accelerator.end_training()


def train_uneven(ctx: RunContext) -> None:
    """``accelerate-uneven``: the same loop with ``DataLoaderConfiguration(even_batches=False)``.

    Run as users run it. When the ranks get different numbers of windows per epoch, Accelerate
    pairs one rank's all-reduces with another's next window (one step mixing two epochs) and the
    rank with more windows waits in a collective nobody joins (seen with accelerate 1.15 on
    gloo): the harness reports that hang, naming the rank and the collective.
    """
    train(ctx, even_batches=False)


def train_unguarded(ctx: RunContext) -> None:
    """``accelerate-unguarded``: the guide's loop with ``accelerator.clip_grad_norm_`` on every
    micro-batch, without the ``if accelerator.sync_gradients:`` guard, as many users write it."""
    train(ctx, guard_clipping=False)
