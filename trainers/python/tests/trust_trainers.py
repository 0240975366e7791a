"""Users' trainers that are right but look unusual to an auditor (test/python-trust.test.ts).

- ``prefetching``: a correct loop over one stream of micro-batches that fetches the next micro-batch,
  and with it the next epoch's tag (``ctx.set_epoch``), before it steps: the epoch's last step is
  taken while the model already carries the next epoch's tag.
- ``drops_empty_in_batch``: a correct token-weighted loop whose micro-batches leave out the samples
  without loss tokens (as TRL's SFTTrainer does): such micro-batches are shorter than B.
- ``drops_empty_before``: the same, the samples without loss tokens left out of the dataset before
  batching.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import torch
from torch.utils.data import DataLoader, Subset

from accumaudit_probe import RunContext
from accumaudit_probe.probe import IGNORE_INDEX, collate


def _stream(ctx: RunContext, loader: DataLoader) -> Iterator[tuple[Any, int, bool]]:
    """Every epoch's micro-batches with their window's sample count and whether they end the window."""
    k = ctx.accumulation
    for epoch in range(ctx.epochs):
        ctx.set_epoch(epoch)
        batches = list(loader)
        for i, batch in enumerate(batches):
            first = i - i % k
            window = batches[first : first + k]
            samples = sum(len(b["ids"]) for b in window)
            yield batch, samples, (i + 1) % k == 0 or i == len(batches) - 1


def prefetching(ctx: RunContext) -> None:
    model, optimizer = ctx.model, ctx.make_optimizer()
    stream = _stream(ctx, ctx.make_loader())
    item = next(stream, None)
    while item is not None:
        batch, samples, ends_window = item
        x, y, ids = ctx.to_device(batch)
        (model.per_sample_loss(x, y, ids).sum() / samples).backward()
        item = next(stream, None)  # the next micro-batch first: it may set the next epoch's tag
        if ends_window:
            optimizer.step()
            optimizer.zero_grad()


def _has_tokens(y: torch.Tensor) -> torch.Tensor:
    """Per sample of a micro-batch: whether it has a loss token (a label other than -100 after position 0)."""
    return (y[:, 1:] != IGNORE_INDEX).any(dim=1)


def _token_windows(ctx: RunContext, loader: DataLoader) -> None:
    """Token-weighted windows of K micro-batches, each micro-batch without its samples without loss tokens."""
    model, optimizer = ctx.model, ctx.make_optimizer()
    k = ctx.accumulation
    for _epoch in ctx.epochs_iter():
        batches = []
        for batch in loader:
            x, y, ids = ctx.to_device(batch)
            keep = _has_tokens(y)
            if keep.any():
                batches.append((x[keep], y[keep], ids[keep]))
        for first in range(0, len(batches), k):
            window = batches[first : first + k]
            tokens = sum(int(model.loss_units(y)) for _, y, _ in window)
            for x, y, ids in window:
                (model.loss_terms(x, y, ids).sum() / max(tokens, 1)).backward()
            optimizer.step()
            optimizer.zero_grad()


def drops_empty_in_batch(ctx: RunContext) -> None:
    _token_windows(ctx, ctx.make_loader())


def drops_empty_before(ctx: RunContext) -> None:
    lengths = [int((ctx.dataset[i]["y"][1:] != IGNORE_INDEX).sum()) for i in range(len(ctx.dataset))]
    kept = Subset(ctx.dataset, [i for i, n in enumerate(lengths) if n > 0])
    _token_windows(ctx, DataLoader(kept, batch_size=ctx.batch_size, collate_fn=collate))


def stops_after_five_steps(ctx: RunContext) -> None:
    """A correct loop with a step budget of 5: a run that stops early."""
    model, optimizer = ctx.model, ctx.make_optimizer()
    steps = 0
    stream = _stream(ctx, ctx.make_loader())
    for batch, samples, ends_window in stream:
        x, y, ids = ctx.to_device(batch)
        (model.per_sample_loss(x, y, ids).sum() / samples).backward()
        if ends_window:
            optimizer.step()
            optimizer.zero_grad()
            steps += 1
            if steps == 5:
                return
