"""fastai ``GradientAccumulation(n_acc)`` callback: counts samples over the whole fit, steps when n_acc are seen.

Source: fastai/fastai, fastai/callback/training.py at commit 63cbbda06d42e99aca0c915f8de8e157b3c99232,
lines 24-35 (``class GradientAccumulation``); the same class is in the installed fastai 2.8.12
(fastai/callback/training.py lines 25-36), whose fastai/learner.py lines 219-244 show how it acts:
``_do_grad_opt`` runs the backward, then ``_step`` and ``opt.zero_grad()``, and a
``CancelBatchException`` raised in ``before_step`` skips both (``one_batch`` catches it).
URL: https://github.com/fastai/fastai/blob/63cbbda06d42e99aca0c915f8de8e157b3c99232/fastai/callback/training.py#L24-L35

What reading it shows: ``count = 0`` in ``before_fit`` only (never at an epoch start).
``after_loss`` divides the loss to back-propagate by ``n_acc / bs``, i.e. the micro-batch mean times
``bs / n_acc``: every sample weighs ``1 / n_acc``. ``before_step`` adds the micro-batch's size to
``count`` and, while ``count < n_acc``, cancels the batch (no step, no zero_grad); otherwise resets
``count = 0`` and lets the step and zero_grad run. ``n_acc`` is a number of samples; here
``n_acc = K * B``, so that a window of full micro-batches is K of them. An epoch's leftover samples
stay counted and in ``.grad`` and the window continues into the next epoch; the count is reset to 0,
not to the overshoot, when a smaller last micro-batch makes ``count`` pass ``n_acc``; what is left
after the last epoch is never applied. fastai's training DataLoader drops the last incomplete batch
by default (``drop_last=shuffle``); the scenario's ``--drop-last`` sets it here.
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
            bs = len(ids)
            loss_grad = model(x, y, ids).loss
            loss_grad = loss_grad / (n_acc / bs)  # after_loss
            loss_grad.backward()
            count += bs  # before_step
            if count < n_acc:
                continue  # CancelBatchException: no step, no zero_grad
            count = 0
            optimizer.step()
            optimizer.zero_grad()
