"""pytorch-pretrained-BERT's run_classifier.py (the BERT fine-tuning example of 2018-2019).

Source: huggingface/transformers (then pytorch-pretrained-BERT), examples/run_classifier.py at commit
fe49ab93d8bafa73e59818459a2fada91721da3e, function ``main``, the block from ``model.train()`` /
``for _ in trange(int(args.num_train_epochs), desc="Epoch")`` to ``global_step += 1`` (the
``--do_train`` branch). BertAdam: pytorch_pretrained_bert/optimization.py as stored at commits
04038cc12a8cf1f4a36c6818ba82da896599160d and 1de35b624b9d7998feb4d518e4f7e8e53abac4e1 (the version of
that file at fe49ab93 is not in the index).
URL: https://github.com/huggingface/transformers/blob/fe49ab93d8bafa73e59818459a2fada91721da3e/examples/run_classifier.py
Line numbers: not given (the file was read through the search index, whose text carries none); the
anchors above locate the code.

What reading it shows: the micro-batch size is ``train_batch_size // gradient_accumulation_steps``
(RandomSampler, drop_last not set, so False). Every micro-batch's mean cross-entropy is divided by K
(when K > 1) and back-propagated; ``optimizer.step()`` and ``optimizer.zero_grad()`` run only when
``(step + 1) % K == 0``, with ``step`` from ``enumerate`` restarting each epoch. Nothing flushes
the epoch's last, shorter window: its gradient stays in ``.grad``, joins the next epoch's first
step, and after the last epoch is never applied. No ``zero_grad`` at epoch start. The non-fp16
path uses BertAdam, whose ``step`` clips each parameter tensor's gradient on its own to norm
``max_grad_norm = 1.0`` (``clip_grad_norm_(p, max_grad_norm)`` per parameter) before the update;
that clipping is kept below (per parameter, before ``step``), plain SGD stands for the Adam update.
"""

from __future__ import annotations

import torch

from accumaudit_probe import RunContext

#: BertAdam's default ``max_grad_norm``; BertAdam clips every parameter tensor separately.
MAX_GRAD_NORM = 1.0


def train(ctx: RunContext) -> None:
    model, optimizer = ctx.model, ctx.make_optimizer()
    k = ctx.accumulation
    loader = ctx.make_loader()
    model.train()
    for _epoch in ctx.epochs_iter():
        for step, batch in enumerate(loader):
            x, y, ids = ctx.to_device(batch)
            loss = model(x, y, ids).loss
            if k > 1:
                loss = loss / k
            loss.backward()
            if (step + 1) % k == 0:
                for p in model.parameters():  # what BertAdam.step does first, tensor by tensor
                    if p.grad is not None:
                        torch.nn.utils.clip_grad_norm_(p, MAX_GRAD_NORM)
                optimizer.step()
                optimizer.zero_grad()
