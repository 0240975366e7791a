"""HuggingFace Accelerate: the loop from its gradient-accumulation guide.

``Accelerator(gradient_accumulation_steps=K)``; every micro-batch runs inside
``accelerator.accumulate(model)`` with an unconditional ``optimizer.step()`` and
``optimizer.zero_grad()``, which the prepared optimizer turns into no-ops until Accelerate
decides to sync. The loss is the micro-batch's mean; ``accelerator.backward`` scales it.
"""

from __future__ import annotations

import accelerate
from accelerate import Accelerator

from ..context import RunContext
from .framework_state import warn_if_fp16_ignored

#: Accelerate's ``mixed_precision`` argument for each scenario precision.
MIXED_PRECISION = {"fp32": "no", "fp16": "fp16", "bf16": "bf16"}


def train(ctx: RunContext) -> None:
    """``accelerate``: the guide's loop with the scenario's K, mixed precision and device."""
    ctx.set_framework("accelerate", accelerate.__version__)
    accelerator = Accelerator(
        gradient_accumulation_steps=ctx.accumulation,
        mixed_precision=MIXED_PRECISION[ctx.precision],
        cpu=ctx.device == "cpu",
    )
    if warn_if_fp16_ignored(accelerator, "accelerate", ctx.precision):
        ctx.set_effective_precision("fp32")
    model, optimizer, loader = accelerator.prepare(ctx.model, ctx.make_optimizer(), ctx.make_loader())
    model.train()
    for epoch in range(ctx.epochs):
        ctx.set_epoch(epoch)
        for batch in loader:
            with accelerator.accumulate(model):
                loss = model(batch["x"], batch["y"], batch["ids"]).loss
                accelerator.backward(loss)
                optimizer.step()
                optimizer.zero_grad()
    accelerator.end_training()
