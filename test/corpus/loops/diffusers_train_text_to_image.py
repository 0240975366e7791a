"""diffusers examples/text_to_image/train_text_to_image.py: Accelerate accumulation, clipping at sync, max_train_steps.

Source: huggingface/diffusers, examples/text_to_image/train_text_to_image.py at the snapshot commit
58eb52c0803ea9af3abec60841c2a093bdf1f951 (the file last changed in
c56add8081be60b7e8794e011f1790d0e37aeced), lines 550-555 (``Accelerator(gradient_accumulation_steps=
..., mixed_precision=...)``), 836-842 (DataLoader, ``shuffle=True``, drop_last not set), 889-899
(``num_update_steps_per_epoch = ceil(len(train_dataloader) / K)``, ``max_train_steps = num_train_epochs
* num_update_steps_per_epoch`` when not given, ``num_train_epochs`` recomputed from it) and 963-1097
(the loop: ``with accelerator.accumulate(unet)``, ``accelerator.backward(loss)``, ``if
accelerator.sync_gradients: accelerator.clip_grad_norm_(unet.parameters(), args.max_grad_norm)``,
``optimizer.step()``, ``lr_scheduler.step()``, ``optimizer.zero_grad()``; ``global_step += 1`` when
``accelerator.sync_gradients``; ``if global_step >= args.max_train_steps: break``); ``--max_grad_norm``
default 1.0 (line 414).
URL: https://github.com/huggingface/diffusers/blob/58eb52c0803ea9af3abec60841c2a093bdf1f951/examples/text_to_image/train_text_to_image.py#L963-L1097

What reading it shows: the Accelerate loop of the gradient-accumulation guide (the loss, a mean
MSE over the micro-batch, is divided by K in ``accelerator.backward``; Accelerate syncs every K-th
micro-batch and at the end of the prepared loader), plus global-norm clipping to 1.0 at every sync
before the step, and a step budget equal, by default, to what Accelerate's windows take per epoch
(so it does not cut the default run short). Re-expressed with Accelerate itself (the installed
version); the clipping is kept. The EMA, checkpointing and logging do not touch the gradient.
"""

from __future__ import annotations

import math

import accelerate
from accelerate import Accelerator

from accumaudit_probe import RunContext

#: ``--max_grad_norm`` default.
MAX_GRAD_NORM = 1.0


def train(ctx: RunContext) -> None:
    ctx.set_framework("accelerate", accelerate.__version__)
    accelerator = Accelerator(cpu=ctx.device == "cpu", gradient_accumulation_steps=ctx.accumulation)
    model, optimizer, loader = accelerator.prepare(ctx.model, ctx.make_optimizer(), ctx.make_loader())
    num_update_steps_per_epoch = math.ceil(len(loader) / ctx.accumulation)
    max_train_steps = ctx.epochs * num_update_steps_per_epoch  # args.max_train_steps is None
    num_train_epochs = math.ceil(max_train_steps / num_update_steps_per_epoch)
    global_step = 0
    for epoch in range(num_train_epochs):
        ctx.set_epoch(epoch)
        model.train()
        for batch in loader:
            with accelerator.accumulate(model):
                loss = model(batch["x"], batch["y"], batch["ids"]).loss
                accelerator.backward(loss)
                if accelerator.sync_gradients:
                    accelerator.clip_grad_norm_(model.parameters(), MAX_GRAD_NORM)
                optimizer.step()
                optimizer.zero_grad()
            if accelerator.sync_gradients:
                global_step += 1
            if global_step >= max_train_steps:
                break
    accelerator.end_training()
