"""The DDP documentation loop plus a step after the rank's last micro-batch of the epoch.

Every window now steps in its epoch, but the tail window has fewer micro-batches and its loss is
still divided by K: its samples get too little weight. DistributedSampler's padding still trains
some samples twice when W does not divide N.
"""

from __future__ import annotations

from ..context import RunContext
from .ddp_docs_loop import accumulate_with_ddp


def train(ctx: RunContext) -> None:
    accumulate_with_ddp(ctx, step_at_tail=True)
