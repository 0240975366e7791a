"""The reference loop: every sample in exactly one applied step per epoch, weighted by the window's loss units.

- A window is up to K micro-batches drawn from the loader's iterator (no len() needed, so an
  unknown-length data source works); the epoch's last window holds what is left.
- Each micro-batch's loss is the sum of its per-sample losses divided by the window's sample count,
  so the applied gradient is the mean per-sample gradient over the window. Under token weighting
  the units are loss tokens (``model.loss_terms`` / ``model.loss_units``), as in token_reference.py.
- .grad is cleared at every epoch start: nothing leaks across epochs.
- fp16: when GradScaler skips the step (inf/nan), the scale has been lowered; the window is redone
  at the lower scale, so no sample is lost.
- The scenario's step semantics (stepping.py): the gradient clipped once per step, the schedule and
  the moving average advanced once per applied step, the scenario's optimizer.
"""

from __future__ import annotations

from itertools import islice

from ..context import RunContext
from .stepping import ReferenceStep

#: Redo attempts per window before giving up (each halves the loss scale).
MAX_REDOS = 64


def train(ctx: RunContext) -> None:
    model, optimizer, scaler = ctx.model, ctx.make_optimizer(), ctx.make_scaler()
    apply_step = ReferenceStep(ctx, optimizer, scaler)
    loader = ctx.make_loader()
    k = ctx.accumulation
    model.train()
    for epoch in range(ctx.epochs):
        ctx.set_epoch(epoch)
        optimizer.zero_grad()
        batches = iter(loader)
        while window := [ctx.to_device(batch) for batch in islice(batches, k)]:
            units = max(sum(int(model.loss_units(y)) for _, y, _ in window), 1)
            for _ in range(MAX_REDOS):
                for x, y, ids in window:
                    with ctx.autocast():
                        loss = model.loss_terms(x, y, ids).sum() / units
                    scaler.scale(loss).backward()
                if apply_step():
                    break
            else:
                raise RuntimeError(f"reference: epoch {epoch}: window still overflows after {MAX_REDOS} redos")
