"""transformers examples/pytorch/text-classification/run_glue_no_trainer.py (the Accelerate example without Trainer).

Source: huggingface/transformers, examples/pytorch/text-classification/run_glue_no_trainer.py at
commit a22a4378d97d06b7a1d9abad6e0086d30fdea199 (that version calls ``check_min_version("4.49.0")``),
function ``main``: the "Scheduler and math around the number of training steps" block and the
training loop ``for epoch in range(starting_epoch, args.num_train_epochs)`` up to
``if completed_steps >= args.max_train_steps: break``. The same accumulation code is in the 2021
version of the same file (commit 0310c247aafa21ef0567787645656d0ef1d42cf9) and in
examples/pytorch/language-modeling/run_clm_no_trainer.py at commit
3c354ea20e347edb9413ada30911e9fdc242719d.
URL: https://github.com/huggingface/transformers/blob/a22a4378d97d06b7a1d9abad6e0086d30fdea199/examples/pytorch/text-classification/run_glue_no_trainer.py
Line numbers: not given (the file was read through the search index, whose text carries none); the
anchors above locate the code.

What reading it shows: ``Accelerator()`` is built without ``gradient_accumulation_steps``, so
``accelerator.backward`` scales nothing and the prepared optimizer steps on every call: the
accumulation is the script's own. Each micro-batch's mean loss is divided by K and
back-propagated; the optimizer steps (then ``lr_scheduler.step()``, ``optimizer.zero_grad()``,
``completed_steps += 1``) when ``step % K == 0 or step == len(train_dataloader) - 1``, with ``step``
from ``enumerate`` counted from 0 in every epoch: the first step of each epoch holds one
micro-batch (divided by K), the next ones K micro-batches offset by one, and the last one what is
left after the offset (also divided by K). ``max_train_steps`` defaults to
``num_train_epochs * ceil(len(train_dataloader) / K)`` and the loop breaks as soon as
``completed_steps >= max_train_steps``; since this loop takes one step more per epoch than that
count assumes (whenever the epoch has more than one micro-batch), the budget ends the last epoch
early. The DataLoader shuffles (``shuffle=True``), drop_last is not set (False).
"""

from __future__ import annotations

import math

from accumaudit_probe import RunContext


def train(ctx: RunContext) -> None:
    model, optimizer = ctx.model, ctx.make_optimizer()
    k = ctx.accumulation
    loader = ctx.make_loader()
    num_update_steps_per_epoch = math.ceil(len(loader) / k)
    max_train_steps = ctx.epochs * num_update_steps_per_epoch  # args.max_train_steps is None
    num_train_epochs = math.ceil(max_train_steps / num_update_steps_per_epoch)
    completed_steps = 0
    for epoch in range(num_train_epochs):
        ctx.set_epoch(epoch)
        model.train()
        for step, batch in enumerate(loader):
            x, y, ids = ctx.to_device(batch)
            loss = model(x, y, ids).loss
            loss = loss / k
            loss.backward()  # accelerator.backward(loss) with an Accelerator that does not accumulate
            if step % k == 0 or step == len(loader) - 1:
                optimizer.step()
                optimizer.zero_grad()
                completed_steps += 1
            if completed_steps >= max_train_steps:
                break
