"""The reference loop for language-model fine-tuning: every loss token of a window weighs the same.

Copy this loop when a sample's loss is a mean over its tokens (causal-LM fine-tuning, labels of
-100 on the prompt and the padding). Dividing each micro-batch's mean loss by K weights every
micro-batch the same, so a token of a short micro-batch weighs more than one of a long one; the
full batch of a window weighs every loss token the same. So:

- A window is up to K micro-batches drawn from the loader's iterator (no len() needed); the
  epoch's last window holds what is left.
- Before the window's first backward, count its loss tokens: ``(labels[..., 1:] != -100).sum()``
  over its micro-batches, as HF Trainer counts ``num_items_in_batch`` (a causal LM predicts
  labels[t] from position t - 1, so labels[0] is never a target). ``model.loss_units(labels)``
  is that count (and the micro-batch's sample count under sample weighting, where this loop is
  the plain reference loop).
- Each micro-batch's loss is the SUM of its token losses (``reduction="sum"`` of the cross-entropy
  over the shifted logits, which ``model.loss_terms`` returns one by one) divided by the window's
  token count: the applied gradient is the mean token gradient over the window.
- A window without loss tokens divides by 1 instead of 0 (no NaN): its gradient is zero.
- .grad is cleared at every epoch start: nothing leaks across epochs.
- fp16: when GradScaler skips the step (inf/nan), the window is redone at the lower scale.
- The scenario's step semantics (stepping.py): the gradient clipped once per step, the schedule and
  the moving average advanced once per applied step, the scenario's optimizer.

One process only. With data-parallel ranks the count must be the window's tokens over every rank
(``dist.all_reduce`` of the local count) and DDP's gradient mean undone (times W): see
``ddp_reference.py``, which does both.
"""

from __future__ import annotations

from itertools import islice

import torch

from ..context import RunContext
from ..probe import ProbeModel
from .stepping import ReferenceStep

#: Redo attempts per window before giving up (each halves the loss scale).
MAX_REDOS = 64


def window_tokens(model: ProbeModel, window: list[tuple[torch.Tensor, torch.Tensor, torch.Tensor]]) -> int:
    """The window's loss tokens: ``(labels[..., 1:] != -100).sum()`` over its micro-batches, at least 1."""
    return max(sum(int(model.loss_units(y)) for _, y, _ in window), 1)


def train(ctx: RunContext) -> None:
    model, optimizer, scaler = ctx.model, ctx.make_optimizer(), ctx.make_scaler()
    apply_step = ReferenceStep(ctx, optimizer, scaler)
    loader = ctx.make_loader()
    k = ctx.accumulation
    model.train()
    for epoch in ctx.epochs_iter():
        optimizer.zero_grad()
        batches = iter(loader)
        while window := [ctx.to_device(batch) for batch in islice(batches, k)]:
            tokens = window_tokens(model, window)
            for _ in range(MAX_REDOS):
                for x, y, ids in window:
                    with ctx.autocast():
                        loss = model.loss_terms(x, y, ids).sum() / tokens
                    scaler.scale(loss).backward()
                if apply_step():
                    break
            else:
                raise RuntimeError(f"token-reference: epoch {epoch}: window still overflows after {MAX_REDOS} redos")
