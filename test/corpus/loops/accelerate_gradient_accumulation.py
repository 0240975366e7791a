"""Accelerate's examples/by_feature/gradient_accumulation.py: ``with accelerator.accumulate(model)``.

Source: huggingface/accelerate, examples/by_feature/gradient_accumulation.py at the snapshot commit
16cb6eb80dd9aa8b4df1a63ef57863e455d53b83 (the file last changed in
a5cb37c17813a9d938ad3dac70b95fc58ebedbc3), lines 118-182 (``training_function``:
``Accelerator(cpu=..., mixed_precision=..., gradient_accumulation_steps=...)``, ``prepare``, and the
loop ``for epoch in range(num_epochs)`` / ``with accelerator.accumulate(model):`` ...
``optimizer.zero_grad()``); the DataLoader (lines 101-103) shuffles, drop_last not set.
URL: https://github.com/huggingface/accelerate/blob/16cb6eb80dd9aa8b4df1a63ef57863e455d53b83/examples/by_feature/gradient_accumulation.py#L118-L182

What reading it shows: every micro-batch runs inside ``accelerator.accumulate(model)`` and calls
``accelerator.backward(loss)``, ``optimizer.step()``, ``lr_scheduler.step()`` and
``optimizer.zero_grad()`` unconditionally; the loss is the model's micro-batch mean. Which calls
take effect is Accelerate's decision, so this re-expression runs Accelerate itself (the installed
version) with the scenario's K, exactly as the example calls it, and the probe's loader prepared by
it. (Accelerate divides the loss by K in ``backward`` and syncs every K-th micro-batch and at the
end of the prepared loader: the epoch's last window is stepped but its micro-batches were divided
by K.)
"""

from __future__ import annotations

import accelerate
from accelerate import Accelerator

from accumaudit_probe import RunContext


def train(ctx: RunContext) -> None:
    ctx.set_framework("accelerate", accelerate.__version__)
    accelerator = Accelerator(cpu=ctx.device == "cpu", gradient_accumulation_steps=ctx.accumulation)
    model, optimizer, loader = accelerator.prepare(ctx.model, ctx.make_optimizer(), ctx.make_loader())
    for _epoch in ctx.epochs_iter():
        model.train()
        for batch in loader:
            with accelerator.accumulate(model):
                loss = model(batch["x"], batch["y"], batch["ids"]).loss
                accelerator.backward(loss)
                optimizer.step()
                optimizer.zero_grad()
    accelerator.end_training()
