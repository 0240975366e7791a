"""LitGPT litgpt/finetune/full.py ``fit``: iterations counted over the whole run through a CycleIterator.

Source: Lightning-AI/litgpt, litgpt/finetune/full.py at the snapshot commit
26857050fe3ff627cd714fe92f5838f51a3d5efa (the file last changed in
31e5fcaf8486d08001a2eda2579c45fea307c529), lines 250-293 (``initial_iter``, ``max_steps``,
``train_iterator = CycleIterator(train_dataloader)``, the ``while state["step_count"] < max_steps``
loop to ``state["step_count"] += 1``); ``CycleIterator`` in litgpt/utils.py lines 482-507;
``TrainArgs.gradient_accumulation_iters`` in litgpt/args.py lines 56-60 (``batch_size //
micro_batch_size``); ``max_steps`` defaults to None; the data modules' training DataLoader
(e.g. litgpt/data/alpaca.py) shuffles with a seeded generator, drop_last not set.
URL: https://github.com/Lightning-AI/litgpt/blob/26857050fe3ff627cd714fe92f5838f51a3d5efa/litgpt/finetune/full.py#L250-L293

What reading it shows: ``iter_num`` is incremented before every micro-batch and never reset;
``CycleIterator`` restarts the loader when it is exhausted and increments its ``epoch``, and the
loop breaks when the batch it just drew belongs to epoch ``train.epochs``. ``is_accumulating =
iter_num % K != 0``: the optimizer steps (then ``zero_grad``, ``scheduler.step``) after every K-th
micro-batch of the run, whatever epoch it belongs to. The loss (token mean) of each micro-batch is
divided by K. So windows run across epoch boundaries: every step holds K micro-batches, the last
window of an epoch continues with the first micro-batches of the next, and whatever is left after
the last epoch (when E * len(loader) is not a multiple of K) is never applied. ``max_norm`` is not
supported by this script (``validate_args``), ``max_steps`` is None by default.
"""

from __future__ import annotations

from accumaudit_probe import RunContext


class _Cycle:
    """CycleIterator: restarts the loader when exhausted and counts epochs (tags the probe's epoch)."""

    def __init__(self, ctx: RunContext, loader) -> None:
        self.ctx, self.loader, self.epoch, self._iterator = ctx, loader, 0, None

    def __next__(self):
        if self._iterator is None:
            self._iterator = iter(self.loader)
        try:
            return next(self._iterator)
        except StopIteration:
            self._iterator = iter(self.loader)
            self.epoch += 1
            if self.epoch < self.ctx.epochs:
                self.ctx.set_epoch(self.epoch)  # the probe's tag; the batch drawn next belongs to it
            return next(self._iterator)


def train(ctx: RunContext) -> None:
    model, optimizer = ctx.model, ctx.make_optimizer()
    k = ctx.accumulation
    ctx.set_epoch(0)
    iter_num, step_count = 0, 0
    max_steps = float("inf")  # train.max_steps is None
    train_iterator = _Cycle(ctx, ctx.make_loader())
    model.train()
    while step_count < max_steps:
        iter_num += 1
        batch = next(train_iterator)
        if train_iterator.epoch >= ctx.epochs:
            break
        is_accumulating = iter_num % k != 0
        x, y, ids = ctx.to_device(batch)
        loss = model(x, y, ids).loss
        (loss / k).backward()
        if not is_accumulating:
            optimizer.step()
            optimizer.zero_grad()
            step_count += 1
