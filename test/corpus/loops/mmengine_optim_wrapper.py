"""MMEngine ``OptimWrapper(accumulative_counts=K)`` under ``EpochBasedTrainLoop`` (MMDetection, MMPretrain, ...).

Source: open-mmlab/mmengine at the snapshot commit 254342938d9bde1775c39ea7d5181c5d294026c4:
mmengine/optim/optimizer/optimizer_wrapper.py (last changed in
db322342410e58e9396c9c286eb7ad243760d59d) lines 175-221 (``update_params``: ``scale_loss``,
``backward`` with ``_inner_count += 1``, ``step`` and ``zero_grad`` when ``should_update()``) and
300-399 (``initialize_count_status``, ``should_update``: ``_inner_count % _accumulative_counts == 0 or
_inner_count == _max_counts``, ``scale_loss``: divide by ``_accumulative_counts`` unless
``_inner_count >= _max_counts - _remainder_counts``, then by ``_remainder_counts``);
mmengine/runner/runner.py lines 1768-1771 (``initialize_count_status(model, train_loop.iter,
train_loop.max_iters)``); mmengine/runner/loops.py (last changed in
cc3b74b5e874255a74f0357ad0c65972f2cd7b4d) ``EpochBasedTrainLoop``: ``_max_iters = _max_epochs *
len(dataloader)`` (line 50) and ``run_epoch`` / ``run_iter``; ``BaseModel.train_step`` in
mmengine/model/base_model/base_model.py (``optim_wrapper.update_params(parsed_losses)``).
URL: https://github.com/open-mmlab/mmengine/blob/254342938d9bde1775c39ea7d5181c5d294026c4/mmengine/optim/optimizer/optimizer_wrapper.py#L300-L399

What reading it shows: the wrapper's ``_inner_count`` counts micro-batches over the whole run
(started at the loop's iteration, 0), and ``_max_counts`` is ``max_epochs * len(dataloader)``.
It steps when the count is a multiple of K or reaches ``_max_counts``; the loss of every micro-batch
is its mean divided by K, except in the run's last ``_max_counts % K`` micro-batches, which are
divided by that remainder. Nothing happens at an epoch boundary: windows of K micro-batches run
across epochs, and only the run's very last window may be shorter. No clipping unless
``clip_grad`` is configured.
"""

from __future__ import annotations

from accumaudit_probe import RunContext


def train(ctx: RunContext) -> None:
    model, optimizer = ctx.model, ctx.make_optimizer()
    k = ctx.accumulation
    loader = ctx.make_loader()
    inner_count = 0  # initialize_count_status(model, 0, max_iters)
    max_counts = ctx.epochs * len(loader)
    remainder_counts = max_counts % k
    for _epoch in ctx.epochs_iter():  # run_epoch
        model.train()
        for batch in loader:  # run_iter -> model.train_step -> optim_wrapper.update_params(loss)
            x, y, ids = ctx.to_device(batch)
            loss = model(x, y, ids).loss
            if k == 1:  # scale_loss
                loss_factor = 1
            elif inner_count < max_counts - remainder_counts:
                loss_factor = k
            else:
                loss_factor = remainder_counts
            loss = loss / loss_factor
            loss.backward()
            inner_count += 1
            if inner_count % k == 0 or inner_count == max_counts:  # should_update
                optimizer.step()
                optimizer.zero_grad()
