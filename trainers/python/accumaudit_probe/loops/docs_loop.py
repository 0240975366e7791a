"""The documentation loop: loss / K, step when (i + 1) % K == 0, zero_grad after the step.

The last incomplete group never steps in its epoch: its gradient stays in .grad and leaks into the
first step of the next epoch; after the last epoch it is never applied.
"""

from __future__ import annotations

from ..context import RunContext


def accumulate_every(ctx: RunContext, k: int) -> None:
    """The documentation loop with accumulation count ``k``."""
    model, optimizer, scaler = ctx.model, ctx.make_optimizer(), ctx.make_scaler()
    loader = ctx.make_loader()
    model.train()
    for epoch in range(ctx.epochs):
        ctx.set_epoch(epoch)
        for i, batch in enumerate(loader):
            x, y, ids = ctx.to_device(batch)
            with ctx.autocast():
                loss = model(x, y, ids).loss / k
            scaler.scale(loss).backward()
            if (i + 1) % k == 0:
                scaler.step(optimizer)
                scaler.update()
                optimizer.zero_grad()


def train(ctx: RunContext) -> None:
    accumulate_every(ctx, ctx.accumulation)
