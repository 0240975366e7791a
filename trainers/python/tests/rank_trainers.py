"""Data-parallel training functions that misbehave on one rank, for the launcher's tests.

Imported as ``rank_trainers:FUNCTION`` (this folder is on sys.path under pytest; tests that start a
worker put it on PYTHONPATH).
"""

import os
import sys
import time

import torch
import torch.distributed as dist

from accumaudit_probe import distributed


@distributed
def raise_on_rank_1(ctx):
    ctx.init_process_group()
    if ctx.rank == 1:
        raise ValueError("rank 1 has no data")
    dist.barrier()


@distributed
def sys_exit_on_rank_1(ctx):
    ctx.init_process_group()
    if ctx.rank == 1:
        sys.exit(3)
    dist.barrier()


@distributed
def os_exit_on_rank_1(ctx):
    ctx.init_process_group()
    if ctx.rank == 1:
        os._exit(3)
    dist.barrier()


@distributed
def all_reduce_on_rank_1_only(ctx):
    ctx.init_process_group()
    if ctx.rank == 1:
        dist.all_reduce(torch.zeros(1))


@distributed
def sleep(ctx):
    time.sleep(600)


def single_process(ctx):
    pass


@distributed
def stall_after_a_step(ctx):
    """Every rank takes one step, then waits in its loop without another forward pass or step."""
    ctx.init_process_group()
    optimizer = ctx.make_optimizer()
    for batch in ctx.make_distributed_loader():
        x, y, ids = ctx.to_device(batch)
        ctx.model(x, y, ids).loss.backward()
        optimizer.step()
        break
    time.sleep(600)
