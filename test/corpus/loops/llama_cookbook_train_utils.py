"""llama-cookbook (formerly llama-recipes) finetuning: ``train`` in src/llama_cookbook/utils/train_utils.py.

Source: meta-llama/llama-recipes, src/llama_cookbook/utils/train_utils.py, read at the snapshot commit
faae2fd877995430906e1d0904131ecdaa89a604 (the file last changed in
c51d3af6c931209d9308401ad67ec912f9de6190), lines 116-200 (``total_train_steps = 0`` to
``pbar.close()``); defaults from src/llama_cookbook/configs/training.py (``max_train_step: int=0``,
``gradient_clipping: bool = False``, ``use_fp16: bool=False``, ``batching_strategy: str="packing"``)
and the loader options from src/llama_cookbook/utils/config_utils.py ``get_dataloader_kwargs``
(``drop_last=True`` for both "packing" and "padding").
URL: https://github.com/meta-llama/llama-recipes/blob/faae2fd877995430906e1d0904131ecdaa89a604/src/llama_cookbook/utils/train_utils.py#L116-L200

What reading it shows: ``total_train_steps`` counts micro-batches (forward passes) across epochs;
with ``max_train_step > 0`` the loop breaks, before the forward pass, once it exceeds
``max_train_step``, and sets ``max_steps_reached`` so the next epoch does not start. Each
micro-batch's mean loss is divided by K and back-propagated; the optimizer steps and
``optimizer.zero_grad()`` runs when ``(step + 1) % K == 0 or step == len(train_dataloader) - 1``
(``step`` restarts each epoch): the epoch's last window is flushed, but its micro-batches were
divided by K although it holds fewer. Clipping is off by default, fp16 off by default (the fp16
branch uses the same condition with a GradScaler). The loader drops the last incomplete batch.

``train`` is the default configuration (``max_train_step = 0``). ``train_max_train_step`` sets
``max_train_step`` to :data:`MAX_TRAIN_STEP` to show what the budget does: it counts micro-batches,
not optimizer steps, and a break in the middle of a window leaves that window's gradient unapplied.
"""

from __future__ import annotations

from accumaudit_probe import RunContext

#: ``max_train_step`` for :func:`train_max_train_step` (the default config has 0: no budget).
MAX_TRAIN_STEP = 20


def _train(ctx: RunContext, max_train_step: int) -> None:
    model, optimizer = ctx.model, ctx.make_optimizer()
    k = ctx.accumulation
    loader = ctx.make_loader()
    total_train_steps = 0
    max_steps_reached = False
    for epoch in range(ctx.epochs):
        if max_steps_reached:
            break
        ctx.set_epoch(epoch)
        model.train()
        for step, batch in enumerate(loader):
            total_train_steps += 1
            if max_train_step > 0 and total_train_steps > max_train_step:
                max_steps_reached = True
                break
            x, y, ids = ctx.to_device(batch)
            loss = model(x, y, ids).loss
            loss = loss / k
            loss.backward()
            if (step + 1) % k == 0 or step == len(loader) - 1:
                optimizer.step()
                optimizer.zero_grad()


def train(ctx: RunContext) -> None:
    _train(ctx, max_train_step=0)


def train_max_train_step(ctx: RunContext) -> None:
    _train(ctx, max_train_step=MAX_TRAIN_STEP)
