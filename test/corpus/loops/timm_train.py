"""timm (pytorch-image-models) train.py, ``train_one_epoch`` with ``--grad-accum-steps``.

Source: huggingface/pytorch-image-models, train.py at the snapshot commit
aa4b5850c1543fa488abf260f18390eda46cf85d (the file last changed in
a6da4da1740cd57eaf864803f9dd65683cbcf6d7), lines 1266-1393 (``accum_steps = args.grad_accum_steps``
to ``task.update_ema(step=num_updates)``); the training loader from timm/data/loader.py
``create_loader`` (``drop_last=is_training``, shuffled). This logic came in with PR #1784
(merge 2aabaef039d918d453b58714ab84562609981112, April 2023, commit
df81d8d85b81071fb034aa085dfa6b8dcf4dd763 "Cleanup gradient accumulation").
URL: https://github.com/huggingface/pytorch-image-models/blob/aa4b5850c1543fa488abf260f18390eda46cf85d/train.py#L1266-L1393

What reading it shows: per epoch, ``accum_steps = K``, ``last_accum_steps = len(loader) % K``,
``last_batch_idx_to_accum = len(loader) - last_accum_steps``, ``optimizer.zero_grad()``. For every
micro-batch: ``need_update = last_batch or (batch_idx + 1) % accum_steps == 0`` is computed first,
then, from the first micro-batch of the last partial window on, ``accum_steps`` is set to
``last_accum_steps``; the micro-batch's mean loss is divided by ``accum_steps`` (when > 1) and
back-propagated; on ``need_update`` the optimizer steps (clipping only with ``--clip-grad``,
default None) and ``optimizer.zero_grad()`` runs. The tail's micro-batches are divided by the
tail's micro-batch count (per micro-batch, not per sample; with ``drop_last=True`` all are full).
But ``need_update`` uses the *reduced* ``accum_steps`` for the tail's later micro-batches, so when
``(batch_idx + 1) % last_accum_steps == 0`` holds inside the tail before its last micro-batch, the
tail is stepped twice. E.g. 7 micro-batches, K = 4: the tail {4, 5, 6} is stepped as {4, 5} and {6}.
It happens whenever ``(len(loader) - last_accum_steps) % last_accum_steps != 0``.
"""

from __future__ import annotations

from accumaudit_probe import RunContext


def train(ctx: RunContext) -> None:
    model, optimizer = ctx.model, ctx.make_optimizer()
    loader = ctx.make_loader()  # the scenario's drop_last; timm's training loader has drop_last=True
    for _epoch in ctx.epochs_iter():
        model.train()
        accum_steps = ctx.accumulation
        last_accum_steps = len(loader) % accum_steps
        last_batch_idx = len(loader) - 1
        last_batch_idx_to_accum = len(loader) - last_accum_steps
        optimizer.zero_grad()
        for batch_idx, batch in enumerate(loader):
            last_batch = batch_idx == last_batch_idx
            need_update = last_batch or (batch_idx + 1) % accum_steps == 0
            if batch_idx >= last_batch_idx_to_accum:
                accum_steps = last_accum_steps
            x, y, ids = ctx.to_device(batch)
            loss = model(x, y, ids).loss
            if accum_steps > 1:
                loss = loss / accum_steps
            loss.backward()
            if need_update:
                optimizer.step()
            if not need_update:
                continue
            optimizer.zero_grad()
