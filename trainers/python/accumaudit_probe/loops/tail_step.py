"""The documentation loop plus a step at the epoch's last micro-batch.

The tail window has fewer micro-batches but its loss is still divided by K: too little weight.
"""

from __future__ import annotations

from ..context import RunContext


def train(ctx: RunContext) -> None:
    model, optimizer, scaler = ctx.model, ctx.make_optimizer(), ctx.make_scaler()
    loader = ctx.make_loader()
    k = ctx.accumulation
    model.train()
    for epoch in range(ctx.epochs):
        ctx.set_epoch(epoch)
        for i, batch in enumerate(loader):
            x, y, ids = ctx.to_device(batch)
            with ctx.autocast():
                loss = model(x, y, ids).loss / k
            scaler.scale(loss).backward()
            if (i + 1) % k == 0 or (i + 1) == len(loader):
                scaler.step(optimizer)
                scaler.update()
                optimizer.zero_grad()
