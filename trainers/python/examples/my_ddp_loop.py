"""A correct data-parallel loop (the shape of the registered ddp-reference, without its fp16 redo).

Audit it on two ranks from the repository root (after `npm run build --silent` once):

    PYTHONPATH=trainers/python/examples node dist/cli/main.js check --trainer python:my_ddp_loop:train \
        --world-size 2 --dataset-size 110 --batch-size 8 --accumulation 4 --epochs 2
"""

from contextlib import nullcontext
from itertools import islice

import torch
import torch.distributed as dist
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data import DataLoader

from accumaudit_probe import RunContext, distributed


@distributed
def train(ctx: RunContext) -> None:
    ctx.init_process_group()  # gloo on cpu, nccl on cuda; nothing when W = 1
    model = DistributedDataParallel(ctx.model) if ctx.is_distributed else ctx.model
    optimizer = ctx.make_optimizer()
    loader = ctx.make_distributed_loader(pad=False)  # this rank's shard, no sample repeated
    for epoch in ctx.epochs_iter():  # sets the epoch tag and the sampler's epoch
        optimizer.zero_grad()
        batches = iter(loader)
        while True:
            window = [ctx.to_device(batch) for batch in islice(batches, ctx.accumulation)]
            counts = torch.tensor([sum(len(ids) for _, _, ids in window), len(window)])
            if ctx.is_distributed:
                dist.all_reduce(counts)  # the window's samples and micro-batches on all ranks
            samples, micro_batches = int(counts[0]), int(counts[1])
            if micro_batches == 0:
                break  # every rank sees the same counts: same windows, no hang
            if not window:  # this rank's shard has run out: join with no samples
                x, y, ids = ctx.to_device(next(iter(DataLoader(ctx.dataset, batch_size=1))))
                window = [(x[:0], y[:0], ids[:0])]
            for j, (x, y, ids) in enumerate(window):
                last = j == len(window) - 1  # all-reduce the gradient once per window
                with nullcontext() if last or not ctx.is_distributed else model.no_sync():
                    loss = model(x, y, ids, num_items_in_batch=1).loss  # the sum of per-sample losses
                    (loss * ctx.world_size / samples).backward()  # DDP averages over the ranks
            optimizer.step()
            optimizer.zero_grad()
