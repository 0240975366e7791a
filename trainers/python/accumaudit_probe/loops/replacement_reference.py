"""The replacement reference loop: nanoGPT's shape (no epochs, random draws), accumulated right.

- Every optimizer step draws its window: K micro-batches of B sample ids drawn with replacement
  (``ctx.draw_batch()``, as nanoGPT's ``get_batch`` draws ``torch.randint(N, (B,))``), for
  ``ctx.steps`` steps. A sample drawn twice is trained twice, as a full batch of those draws would.
- Each micro-batch's loss is the sum of its per-draw losses divided by the window's loss units
  (its draws, or their loss tokens under token weighting), counted before the backward passes: the
  applied gradient is the mean per-draw gradient over the window. With micro-batches of B draws
  under sample weighting this is nanoGPT's ``loss / gradient_accumulation_steps``; under token
  weighting a micro-batch's token mean / K is not (its tokens would weigh by their micro-batch).
- .grad is cleared after every step: no window leaks into the next.
- fp16: when GradScaler skips the step (inf/nan), the window is redone at the lower scale.
- The scenario's step semantics (stepping.py): the gradient clipped once per step, the schedule and
  the moving average advanced once per applied step, the scenario's optimizer.
- Under epoch sampling (no steps to draw for) it is the reference loop (reference.py), so every
  registered trainer runs every scenario.
"""

from __future__ import annotations

from ..context import RunContext
from . import reference
from .stepping import ReferenceStep

#: Redo attempts per window before giving up (each halves the loss scale).
MAX_REDOS = 64


def train(ctx: RunContext) -> None:
    if ctx.sampling != "replacement" or ctx.steps is None:
        reference.train(ctx)
        return
    model, optimizer, scaler = ctx.model, ctx.make_optimizer(), ctx.make_scaler()
    apply_step = ReferenceStep(ctx, optimizer, scaler)
    model.train()
    ctx.set_epoch(0)  # no epochs: the tag stays 0 all run
    for step in range(ctx.steps):
        window = [ctx.draw_batch() for _ in range(ctx.accumulation)]
        units = max(sum(int(model.loss_units(y)) for _, y, _ in window), 1)
        for _ in range(MAX_REDOS):
            for x, y, ids in window:
                with ctx.autocast():
                    loss = model.loss_terms(x, y, ids).sum() / units
                scaler.scale(loss).backward()
            if apply_step():
                break
        else:
            raise RuntimeError(f"replacement-reference: step {step}: window still overflows after {MAX_REDOS} redos")
