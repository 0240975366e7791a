"""The documentation loop under DistributedDataParallel, the way the DDP tutorials write it.

Each rank reads its shard through DistributedSampler (padded, shuffled from the seed, set_epoch
every epoch) and trains a DDP-wrapped model: loss / K per micro-batch, ``no_sync()`` on every
micro-batch but the one that steps, step when (i + 1) % K == 0 on the rank's own micro-batch
count, zero_grad after the step.

How it breaks: every rank repeats the documentation loop's failure. The last incomplete group of
its shard never steps in its epoch: its gradient stays in .grad, un-reduced, and leaks into the
first step of the next epoch (that step's all-reduce carries it); after the last epoch it is never
applied. And when W does not divide N, DistributedSampler pads the last shards by repeating
samples from the start of the epoch's order: those samples are trained on twice in the epoch.
"""

from __future__ import annotations

from contextlib import nullcontext

from torch.nn.parallel import DistributedDataParallel

from ..context import RunContext


def accumulate_with_ddp(ctx: RunContext, step_at_tail: bool) -> None:
    """The DDP documentation loop; ``step_at_tail`` also steps after the rank's last micro-batch of each epoch."""
    ctx.init_process_group()
    model = DistributedDataParallel(ctx.model) if ctx.is_distributed else ctx.model
    optimizer, scaler = ctx.make_optimizer(), ctx.make_scaler()
    loader = ctx.make_distributed_loader(pad=True)
    k = ctx.accumulation
    model.train()
    for _epoch in ctx.epochs_iter():
        for i, batch in enumerate(loader):
            x, y, ids = ctx.to_device(batch)
            steps = (i + 1) % k == 0 or (step_at_tail and (i + 1) == len(loader))
            with nullcontext() if steps or not ctx.is_distributed else model.no_sync():
                with ctx.autocast():
                    loss = model(x, y, ids).loss / k
                scaler.scale(loss).backward()
            if steps:
                scaler.step(optimizer)
                scaler.update()
                optimizer.zero_grad()


def train(ctx: RunContext) -> None:
    accumulate_with_ddp(ctx, step_at_tail=False)
