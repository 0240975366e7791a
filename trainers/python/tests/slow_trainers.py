"""Training functions that take a while: a correct loop that sleeps a little before every micro-batch,
so that a run of a few thousand micro-batches lasts seconds and its progress messages can be seen
(test_progress.py; test/run-progress.test.ts imports them as ``slow_trainers:FUNCTION`` with this
folder on PYTHONPATH).
"""

from __future__ import annotations

import time
from itertools import islice

from accumaudit_probe import RunContext, distributed

#: Seconds slept before each micro-batch's forward pass.
DELAY_S = 0.001


def sleepy_reference(ctx: RunContext) -> None:
    """The reference loop in fp32 (every window's loss is its samples' summed loss / |W|), 1 ms slower
    per micro-batch. Under replacement sampling the loader yields the run's draws, K per window."""
    model, optimizer = ctx.model, ctx.make_optimizer()
    loader = ctx.make_loader()
    for _ in ctx.epochs_iter():
        batches = iter(loader)
        while window := [ctx.to_device(batch) for batch in islice(batches, ctx.accumulation)]:
            units = sum(len(ids) for _, _, ids in window)
            for x, y, ids in window:
                time.sleep(DELAY_S)
                (model.loss_terms(x, y, ids).sum() / units).backward()
            optimizer.step()
            optimizer.zero_grad()


@distributed
def sleepy_shards(ctx: RunContext) -> None:
    """Every rank trains on its own shard, 1 ms per micro-batch, one step per micro-batch and no
    all-reduce (what the steps apply is not the point: where the ranks stand is)."""
    model, optimizer = ctx.model, ctx.make_optimizer()
    loader = ctx.make_distributed_loader()
    for _ in ctx.epochs_iter():
        for batch in loader:
            x, y, ids = ctx.to_device(batch)
            time.sleep(DELAY_S)
            model.loss_terms(x, y, ids).mean().backward()
            optimizer.step()
            optimizer.zero_grad()
