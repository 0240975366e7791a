"""The reference loop, data-parallel: every sample in exactly one applied step per epoch, weighted
by the window's loss units over all ranks (its samples; its loss tokens under token weighting).
Also correct with one rank.

- Shards without padding (``make_distributed_loader(pad=False)``): every sample is on exactly one
  rank; shards differ by at most one sample, so a rank may have one micro-batch more than another.
- A window is up to K micro-batches of every rank; the epoch's last window holds what is left on
  every rank. One all-reduce before each window sums the ranks' loss units and micro-batch counts
  (``model.loss_units``: samples, or loss tokens ``(labels[..., 1:] != -100).sum()``: the global
  token count); the epoch ends when no rank has a micro-batch left, so every rank takes part in
  the same windows.
- Each micro-batch's loss is the sum of its unit losses times W / (the window's units on all
  ranks): DDP averages the ranks' gradients, so the applied gradient is the mean per-unit
  gradient over the window. A window without loss tokens divides by 1 (a zero gradient, no NaN).
- Gradients are all-reduced once per window (``no_sync()`` on every micro-batch but the window's
  last). A rank with no micro-batch left in a window joins that all-reduce with a pass over no
  samples, a zero gradient, so no rank waits for one that has run out.
- .grad is cleared at every epoch start: nothing leaks across epochs.
- fp16: when GradScaler skips the step (inf/nan; every rank sees the same all-reduced gradient),
  every rank redoes the window at the lower scale, so no sample is lost.
- The scenario's step semantics (stepping.py): the all-reduced gradient clipped once per step (the
  same on every rank), the schedule and the moving average advanced once per applied step.
"""

from __future__ import annotations

from contextlib import nullcontext
from itertools import islice

import torch
import torch.distributed as dist
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data import DataLoader

from ..context import RunContext
from ..probe import collate
from .stepping import ReferenceStep

#: Redo attempts per window before giving up (each halves the loss scale).
MAX_REDOS = 64

MicroBatch = tuple[torch.Tensor, torch.Tensor, torch.Tensor]


def train(ctx: RunContext) -> None:
    ctx.init_process_group()
    model = DistributedDataParallel(ctx.model) if ctx.is_distributed else ctx.model
    optimizer, scaler = ctx.make_optimizer(), ctx.make_scaler()
    apply_step = ReferenceStep(ctx, optimizer, scaler)
    loader = ctx.make_distributed_loader(pad=False)
    k, world_size = ctx.accumulation, ctx.world_size
    model.train()
    for epoch in ctx.epochs_iter():
        optimizer.zero_grad()
        batches = iter(loader)
        while True:
            window = [ctx.to_device(batch) for batch in islice(batches, k)]
            units, micro_batches = window_counts(ctx, window)
            if micro_batches == 0:
                break
            window = window or [no_samples(ctx)]
            for _ in range(MAX_REDOS):
                for j, (x, y, ids) in enumerate(window):
                    sync = j == len(window) - 1 or not ctx.is_distributed
                    with nullcontext() if sync else model.no_sync():
                        with ctx.autocast():
                            # num_items_in_batch=1: the sum of the micro-batch's per-unit losses
                            loss = model(x, y, ids, num_items_in_batch=1).loss * world_size / max(units, 1)
                        scaler.scale(loss).backward()
                if apply_step():
                    break
            else:
                raise RuntimeError(f"ddp-reference: epoch {epoch}: window still overflows after {MAX_REDOS} redos")


def window_counts(ctx: RunContext, window: list[MicroBatch]) -> tuple[int, int]:
    """The window's loss units (samples, or loss tokens) and micro-batches, summed over all ranks."""
    units = sum(int(ctx.model.loss_units(y)) for _, y, _ in window)
    counts = torch.tensor([units, len(window)], device=ctx.device)
    if ctx.is_distributed:
        dist.all_reduce(counts)
    return int(counts[0]), int(counts[1])


def no_samples(ctx: RunContext) -> MicroBatch:
    """A micro-batch of no samples, shaped like the dataset's: its pass gives a zero gradient."""
    x, y, ids = ctx.to_device(next(iter(DataLoader(ctx.dataset, batch_size=1, collate_fn=collate))))
    return x[:0], y[:0], ids[:0]
