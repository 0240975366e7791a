"""Two nested loops: windows of min(K, remaining) micro-batches, loss / (micro-batches in window).

Weights per micro-batch, not per sample: a smaller last micro-batch gives its samples more weight.
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
        batches = iter(loader)
        remaining = len(loader)
        while remaining > 0:
            window = min(k, remaining)
            for _ in range(window):
                x, y, ids = ctx.to_device(next(batches))
                with ctx.autocast():
                    loss = model(x, y, ids).loss / window
                scaler.scale(loss).backward()
            scaler.step(optimizer)
            scaler.update()
            optimizer.zero_grad()
            remaining -= window
