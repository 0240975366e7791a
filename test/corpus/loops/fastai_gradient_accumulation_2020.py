"""fastai 2020 ``GradientAccumulation(n_acc)``: the loss is not divided at all.

Source: fastai/fastai, fastai/callback/training.py at commit 22467418f2b9db7e513b33524d9f63875eb26caf,
lines 22-32 (``class GradientAccumulation``, with ``toward_end,run_before=True,MixedPrecision``).
URL: https://github.com/fastai/fastai/blob/22467418f2b9db7e513b33524d9f63875eb26caf/fastai/callback/training.py#L22-L32

What reading it shows: ``count = 0`` in ``before_fit``; ``after_backward`` adds the micro-batch's
size and raises ``CancelBatchException`` ("skip weight update") while ``count < n_acc``, else resets
``count = 0``. There is no ``after_loss``: the loss back-propagated is each micro-batch's plain mean,
so a step applies the *sum* of its micro-batches' mean gradients (K times the window's mean with
full micro-batches). The Learner of that time runs ``opt.step()`` and ``opt.zero_grad()`` after
``after_backward`` and skips both on ``CancelBatchException``. As in the current callback, the count
runs over the whole fit, so windows continue across epochs. ``n_acc = K * B`` here.
"""

from __future__ import annotations

from accumaudit_probe import RunContext


def train(ctx: RunContext) -> None:
    model, optimizer = ctx.model, ctx.make_optimizer()
    n_acc = ctx.accumulation * ctx.batch_size
    loader = ctx.make_loader()
    count = 0  # before_fit
    for _epoch in ctx.epochs_iter():
        model.train()
        for batch in loader:
            x, y, ids = ctx.to_device(batch)
            loss = model(x, y, ids).loss
            loss.backward()
            count += len(ids)  # after_backward
            if count < n_acc:
                continue  # CancelBatchException: no step, no zero_grad
            count = 0
            optimizer.step()
            optimizer.zero_grad()
