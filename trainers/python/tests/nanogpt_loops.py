"""Users' training functions in the shape of nanoGPT's train.py: no epochs, random draws.

Every micro-batch is ``torch.randint(N, (B,))`` sample ids (with replacement), its loss the
micro-batch's mean divided by K (``loss / gradient_accumulation_steps``), an optimizer step after
every K micro-batches, for ``ctx.steps`` steps. Run as ``MODULE:FUNCTION`` (test_replacement.py,
and test/replacement-sampling.test.ts with this folder on PYTHONPATH). With micro-batches of B
draws and sample weighting, this accumulation is right; the variants below break it.
"""

from __future__ import annotations

import torch

from accumaudit_probe import RunContext
from accumaudit_probe.probe import collate

#: Steps a loop takes when the scenario names none (an audit by epochs of the same loop).
STEPS_WITHOUT_SCENARIO = 5


def get_batch(ctx: RunContext, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """nanoGPT's get_batch: B random sample ids, with replacement."""
    ix = torch.randint(len(ctx.dataset), (ctx.batch_size,), generator=generator)
    return ctx.to_device(collate([ctx.dataset[i] for i in ix.tolist()]))


def _loop(ctx: RunContext, *, zero_grad: bool = True, steps_taken: int | None = None) -> None:
    """The nanoGPT loop: ``ctx.steps`` windows of K draws of B; ``steps_taken`` of them step."""
    model, optimizer = ctx.model, ctx.make_optimizer()
    generator = torch.Generator().manual_seed(1337)
    max_iters = ctx.steps or STEPS_WITHOUT_SCENARIO
    gradient_accumulation_steps = ctx.accumulation
    ctx.set_epoch(0)
    model.train()
    for iter_num in range(max_iters):
        for _micro_step in range(gradient_accumulation_steps):
            x, y, ids = get_batch(ctx, generator)
            loss = model(x, y, ids).loss / gradient_accumulation_steps
            loss.backward()
        if steps_taken is not None and iter_num >= steps_taken:
            continue  # drawn, never stepped
        optimizer.step()
        if zero_grad:
            optimizer.zero_grad(set_to_none=True)


def train(ctx: RunContext) -> None:
    """nanoGPT's accumulation: right for micro-batches of B draws under sample weighting."""
    _loop(ctx)


def train_without_zero_grad(ctx: RunContext) -> None:
    """BROKEN: never clears the gradient, so every window leaks into every later step."""
    _loop(ctx, zero_grad=False)


def train_one_step_short(ctx: RunContext) -> None:
    """BROKEN: draws every window but steps one time fewer: the last window's draws are lost."""
    _loop(ctx, steps_taken=(ctx.steps or STEPS_WITHOUT_SCENARIO) - 1)
