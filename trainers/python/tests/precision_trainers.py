"""Users' training functions that run another precision than the scenario asks for, without saying so.

Each is the correct loop of examples/my_correct_loop.py (every sample of a window weighs
1 / |W|), run as ``MODULE:FUNCTION`` (test_precision.py, and test/python-precision.test.ts with
this folder on PYTHONPATH). Only the precision of the forward passes differs from what ``ctx``
would give.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from itertools import islice
from typing import Any

import torch

from accumaudit_probe import RunContext


def _correct_loop(
    ctx: RunContext, forward_context: Callable[[int], Any], scaler: torch.amp.GradScaler | None = None
) -> None:
    """The correct loop with every forward pass of epoch e inside ``forward_context(e)``."""
    model, optimizer = ctx.model, ctx.make_optimizer()
    scaler = scaler or torch.amp.GradScaler(ctx.device, enabled=False)
    loader = ctx.make_loader()
    for epoch in ctx.epochs_iter():
        optimizer.zero_grad()
        batches = iter(loader)
        while window := list(islice(batches, ctx.accumulation)):
            samples = sum(len(batch["ids"]) for batch in window)
            for batch in window:
                x, y, ids = ctx.to_device(batch)
                with forward_context(epoch):
                    loss = model.per_sample_loss(x, y, ids).sum() / samples
                scaler.scale(loss).backward()
            scaler.step(optimizer)
            scaler.update()
            optimizer.zero_grad()


def autocast_bf16(ctx: RunContext) -> None:
    """Every forward pass under bf16 autocast, whatever the scenario asks."""
    _correct_loop(ctx, lambda _: torch.autocast(ctx.device, dtype=torch.bfloat16))


def ignores_autocast(ctx: RunContext) -> None:
    """No autocast whatever the scenario asks, but the loss scaled by ctx's GradScaler (enabled for fp16)."""
    _correct_loop(ctx, lambda _: contextlib.nullcontext(), ctx.make_scaler())


def bf16_after_first_epoch(ctx: RunContext) -> None:
    """The first epoch in fp32, the later ones under bf16 autocast."""
    _correct_loop(
        ctx, lambda epoch: contextlib.nullcontext() if epoch == 0 else torch.autocast(ctx.device, dtype=torch.bfloat16)
    )


def autocast_on_another_device(ctx: RunContext) -> None:
    """Autocast enabled for the device type the probe is not on (cuda beside a cpu run): it casts none
    of the probe's tensors."""
    other = "cuda" if ctx.device == "cpu" else "cpu"
    _correct_loop(ctx, lambda _: _enabled_autocast(other))


def _enabled_autocast(device_type: str) -> Any:
    """torch.autocast on a device type, entered quietly (torch warns and disables it without a CUDA device)."""
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return torch.autocast(device_type, dtype=torch.bfloat16)


def bf16_model(ctx: RunContext) -> None:
    """The probe model cast to bfloat16 (as a framework's "bf16-true" does), inputs with it; no autocast."""
    ctx.model.to(torch.bfloat16)
    model, optimizer = ctx.model, ctx.make_optimizer()
    loader = ctx.make_loader()
    for epoch in ctx.epochs_iter():
        del epoch
        optimizer.zero_grad()
        batches = iter(loader)
        while window := list(islice(batches, ctx.accumulation)):
            samples = sum(len(batch["ids"]) for batch in window)
            for batch in window:
                x, y, ids = ctx.to_device(batch)
                loss = model.per_sample_loss(x.to(torch.bfloat16), y, ids).sum() / samples
                loss.backward()
            optimizer.step()
            optimizer.zero_grad()


def says_fp32_runs_bf16(ctx: RunContext) -> None:
    """States fp32 (``set_effective_precision``) and runs every forward pass under bf16 autocast."""
    ctx.set_effective_precision("fp32")
    autocast_bf16(ctx)


def says_bf16_runs_nothing(ctx: RunContext) -> None:
    """States bf16 and trains without building a graph through the probe (no forward pass seen):
    plain SGD steps on a gradient it sets by hand, every sample at 1 / |W| of its one-window epoch."""
    ctx.set_effective_precision("bf16")
    optimizer = ctx.make_optimizer()
    n = len(ctx.dataset)
    for epoch in ctx.epochs_iter():
        optimizer.zero_grad()
        grad = torch.zeros_like(ctx.model.fingerprint)
        grad[epoch * n : (epoch + 1) * n] = 1.0 / n
        ctx.model.fingerprint.grad = grad
        optimizer.step()
