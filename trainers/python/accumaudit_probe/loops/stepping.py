"""The optimizer step of the reference loops, with the scenario's step semantics.

- Clipping: once per step, over every parameter, after the window's last backward (under DDP
  after the all-reduce, which ``no_sync`` leaves to that backward) and, in fp16, after
  ``scaler.unscale_``, so it clips the true gradient: ``clip_grad_norm_(model.parameters(), C)``.
- The learning-rate schedule and the moving average advance once after every applied step, never
  after one GradScaler skipped (a skip lowers the scale) nor per micro-batch.
- With no clipping, no schedule (constant, no warm-up) and no average this is ``scaler.step``,
  ``scaler.update`` and ``zero_grad`` alone, so an optimizer outside torch.optim still works.
"""

from __future__ import annotations

import torch
from torch.nn.utils import clip_grad_norm_

from ..context import RunContext


class ReferenceStep:
    """One optimizer step of a window, and what advances after it (see the module)."""

    def __init__(self, ctx: RunContext, optimizer: torch.optim.Optimizer, scaler: torch.amp.GradScaler):
        self.ctx, self.optimizer, self.scaler = ctx, optimizer, scaler
        scheduled = ctx.schedule != "constant" or ctx.warmup_steps > 0
        self.scheduler = ctx.make_scheduler(optimizer) if scheduled else None
        self.ema = ctx.make_ema() if ctx.ema_decay is not None else None

    def __call__(self) -> bool:
        """Steps on the accumulated gradient and clears it; True when the step was applied, False
        when GradScaler skipped it (inf/nan) and the window must be redone."""
        scale_before = self.scaler.get_scale()
        if self.ctx.clip_norm is not None:
            self.scaler.unscale_(self.optimizer)
            clip_grad_norm_(self.ctx.model.parameters(), self.ctx.clip_norm)
        self.scaler.step(self.optimizer)
        self.scaler.update()
        self.optimizer.zero_grad()
        if self.scaler.is_enabled() and self.scaler.get_scale() < scale_before:
            return False
        if self.scheduler is not None:
            self.scheduler.step()
        if self.ema is not None:
            self.ema.update_parameters(self.ctx.model)
        return True
