"""The documentation loop with K + 1: changes the effective batch and still loses the tail."""

from __future__ import annotations

from ..context import RunContext
from .docs_loop import accumulate_every


def train(ctx: RunContext) -> None:
    accumulate_every(ctx, ctx.accumulation + 1)
