"""fairseq ``--update-freq``: GroupedIterator chunks per epoch, summed losses, gradients divided by the chunk's sample_size.

Source: facebookresearch/fairseq at the snapshot commit 3d262bb25690e4eb2e7d3c1309b1e9c406ca4b99
(the three files last changed in c7c478b92fe135838a2b9ec8341495c732a92401):
fairseq_cli/train.py lines 261-279 (``train``: ``epoch_itr.next_epoch_itr``, ``update_freq``,
``iterators.GroupedIterator(itr, update_freq, skip_remainder_batch=...)``) and 327-331 (one
``trainer.train_step(samples)`` per group); fairseq/data/iterators.py lines 573-620
(``GroupedIterator``, ``_chunk_iterator``: the last chunk holds what is left unless
``skip_remainder_batch``); fairseq/trainer.py ``train_step`` lines 797-985 (``self.zero_grad()``
first; per sample ``task.train_step`` -> ``criterion(model, sample)`` and ``optimizer.backward(loss)``;
``sample_size += sample_size_i``; ``self.optimizer.multiply_grads(numer / (sample_size or 1.0))``
at line 946 with ``numer`` = data-parallel world size; ``clip_grad_norm(cfg.optimization.clip_norm)``;
``task.optimizer_step``); fairseq/criterions/sentence_prediction.py (loss with ``reduction="sum"``,
``sample_size = targets.numel()``); fairseq/dataclass/configs.py defaults ``clip_norm: 0.0``,
``update_freq: [1]``, ``max_update: 0``, ``skip_remainder_batch: False``.
URL: https://github.com/facebookresearch/fairseq/blob/3d262bb25690e4eb2e7d3c1309b1e9c406ca4b99/fairseq/trainer.py#L797-L985

What reading it shows: every epoch makes a fresh iterator, grouped into chunks of ``update_freq``
(K) micro-batches, the last chunk holding what is left. One ``train_step`` per chunk: zero the
gradient, back-propagate each micro-batch's *summed* loss, add up the criteria's ``sample_size``
(sentences for sentence-level criteria, target tokens for token-level ones), then multiply every
gradient by ``1 / sample_size`` (times the world size, 1 here) and step. Clipping is off by default
(``clip_norm = 0``), ``max_update = 0`` means no budget. That is the window's mean gradient per
sample (or per token), the epoch's last window included.
"""

from __future__ import annotations

from itertools import islice

import torch

from accumaudit_probe import RunContext


def train(ctx: RunContext) -> None:
    model, optimizer = ctx.model, ctx.make_optimizer()
    loader = ctx.make_loader()
    for _epoch in ctx.epochs_iter():
        itr = iter(loader)  # next_epoch_itr
        while samples := list(islice(itr, ctx.accumulation)):  # GroupedIterator, remainder kept
            model.train()
            optimizer.zero_grad()
            sample_size = 0
            for batch in samples:  # the delayed-update loop
                x, y, ids = ctx.to_device(batch)
                loss = model.loss_terms(x, y, ids).sum()  # criterion with reduction="sum"
                loss.backward()
                sample_size += int(model.loss_units(y))
            with torch.no_grad():
                for p in model.parameters():  # optimizer.multiply_grads(numer / sample_size), numer = 1
                    if p.grad is not None:
                        p.grad.mul_(1 / (sample_size or 1.0))
            optimizer.step()
