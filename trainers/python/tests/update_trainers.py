"""Users' training functions whose updates are not what their steps' gradients say, BROKEN on purpose.

Each is the correct loop of examples/my_correct_loop.py (every sample of a window weighs
1 / |W|, so every gradient the recorder reads is right), run as ``update_trainers:FUNCTION``
(test_updates.py, and test/python-updates.test.ts with this folder on PYTHONPATH). What differs
is what reaches the parameters: an optimizer whose step does nothing, one that skips every second
update, a learning rate of 0, a step replaced by a no-op, the gradient applied again by hand after
``optimizer.step()``, and parameters edited in place between steps. ``correct`` is the loop as it
should be, with a torch.optim.AdamW (``adamw``) and with an SGD over the body alone beside the
probe's (``two_optimizers``): they pass.
"""

from __future__ import annotations

from collections.abc import Callable
from itertools import islice
from typing import Any

import torch

from accumaudit_probe import RunContext


def _loop(
    ctx: RunContext,
    optimizer: Any,
    after_step: Callable[[int], None] = lambda _: None,
) -> None:
    """The correct loop with ``optimizer``; ``after_step(n)`` runs after the n-th step (from 1), before zero_grad."""
    model, loader, steps = ctx.model, ctx.make_loader(), 0
    for _epoch in ctx.epochs_iter():
        optimizer.zero_grad()
        batches = iter(loader)
        while window := list(islice(batches, ctx.accumulation)):
            samples = sum(len(batch["ids"]) for batch in window)
            for batch in window:
                x, y, ids = ctx.to_device(batch)
                (model.per_sample_loss(x, y, ids).sum() / samples).backward()
            optimizer.step()
            steps += 1
            after_step(steps)
            optimizer.zero_grad()


def correct(ctx: RunContext) -> None:
    """The loop as it should be: torch.optim.SGD with the scenario's learning rate."""
    _loop(ctx, ctx.make_optimizer())


def adamw(ctx: RunContext) -> None:
    """A correct loop with AdamW (weight decay, moments): held only to moving what has a gradient."""
    _loop(ctx, torch.optim.AdamW(ctx.model.parameters(), lr=ctx.learning_rate))


def two_optimizers(ctx: RunContext) -> None:
    """A correct loop whose body is stepped by an SGD of its own, beside the fingerprint's."""
    fingerprint = torch.optim.SGD([ctx.model.fingerprint], lr=ctx.learning_rate)
    body = torch.optim.SGD(ctx.model.body_parameters(), lr=ctx.learning_rate)

    class Both:
        def zero_grad(self) -> None:
            fingerprint.zero_grad()
            body.zero_grad()

        def step(self) -> None:
            fingerprint.step()
            body.step()

    _loop(ctx, Both())


class NoStep(torch.optim.SGD):
    """BROKEN: an SGD whose step does nothing (torch's step hooks still run around it)."""

    def step(self, closure: Any = None) -> Any:
        return None


class SkipsEverySecond(torch.optim.SGD):
    """BROKEN: an SGD that silently skips every second update."""

    calls = 0

    def step(self, closure: Any = None) -> Any:
        self.calls += 1
        if self.calls % 2 == 0:
            return None
        return super().step(closure)


def no_op_step(ctx: RunContext) -> None:
    """BROKEN: the optimizer's step does nothing."""
    _loop(ctx, NoStep(ctx.model.parameters(), lr=ctx.learning_rate))


def skips_every_second(ctx: RunContext) -> None:
    """BROKEN: every second step applies nothing."""
    _loop(ctx, SkipsEverySecond(ctx.model.parameters(), lr=ctx.learning_rate))


def zero_learning_rate(ctx: RunContext) -> None:
    """BROKEN: SGD with lr = 0."""
    _loop(ctx, torch.optim.SGD(ctx.model.parameters(), lr=0.0))


def patched_step(ctx: RunContext) -> None:
    """BROKEN: ``optimizer.step`` replaced by a no-op: no torch.optim step ever runs."""
    optimizer = ctx.make_optimizer()
    optimizer.step = lambda *args, **kwargs: None  # type: ignore[method-assign]
    _loop(ctx, optimizer)


def manual_update_after_step(ctx: RunContext) -> None:
    """BROKEN: ``p.data -= lr * p.grad`` after ``optimizer.step()``: every gradient applied twice."""

    def again(_: int) -> None:
        for p in ctx.model.parameters():
            if p.grad is not None:
                p.data -= ctx.learning_rate * p.grad

    _loop(ctx, ctx.make_optimizer(), again)


def edits_fingerprint(ctx: RunContext) -> None:
    """BROKEN: every fingerprint entry moved in place after the second step."""

    def edit(steps: int) -> None:
        if steps == 2:
            with torch.no_grad():
                ctx.model.fingerprint.add_(0.1)

    _loop(ctx, ctx.make_optimizer(), edit)


def scales_body(ctx: RunContext) -> None:
    """BROKEN: the body's parameters halved in place after every step."""

    def halve(_: int) -> None:
        with torch.no_grad():
            for p in ctx.model.body_parameters():
                p.mul_(0.5)

    _loop(ctx, ctx.make_optimizer(), halve)
