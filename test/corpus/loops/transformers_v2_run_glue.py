"""transformers 2.x examples/run_glue.py, function ``train``.

Source: huggingface/transformers, examples/run_glue.py at commit
c9439e15e5957491917406933c8ccf07be819016, function ``train(args, train_dataset, model, tokenizer)``:
from ``tr_loss, logging_loss = 0.0, 0.0`` / ``model.zero_grad()`` to the ``max_steps`` breaks.
URL: https://github.com/huggingface/transformers/blob/c9439e15e5957491917406933c8ccf07be819016/examples/run_glue.py
Line numbers: not given (the file was read through the search index, whose text carries none); the
anchors above locate the code.

What reading it shows: ``model.zero_grad()`` once before the epochs (RandomSampler, drop_last
False). Each micro-batch's mean loss is divided by K (when K > 1) and back-propagated. When
``(step + 1) % K == 0`` (``step`` restarts each epoch): ``clip_grad_norm_(model.parameters(),
args.max_grad_norm)`` over all parameters (default 1.0), ``optimizer.step()``, ``scheduler.step()``,
``model.zero_grad()``. No step after the epoch's last micro-batch: the last, shorter window's
gradient stays in ``.grad`` and joins the next epoch's first step; after the last epoch it is never
applied. ``max_steps`` defaults to -1 (no budget), so the run is ``num_train_epochs`` epochs.
Clipping at norm 1.0 is kept: it scales a step's whole gradient whenever its norm exceeds 1.
"""

from __future__ import annotations

import torch

from accumaudit_probe import RunContext

#: ``--max_grad_norm`` default.
MAX_GRAD_NORM = 1.0


def train(ctx: RunContext) -> None:
    model, optimizer = ctx.model, ctx.make_optimizer()
    k = ctx.accumulation
    loader = ctx.make_loader()
    model.zero_grad()
    for _epoch in ctx.epochs_iter():
        for step, batch in enumerate(loader):
            model.train()
            x, y, ids = ctx.to_device(batch)
            loss = model(x, y, ids).loss
            if k > 1:
                loss = loss / k
            loss.backward()
            if (step + 1) % k == 0:
                torch.nn.utils.clip_grad_norm_(model.parameters(), MAX_GRAD_NORM)
                optimizer.step()
                model.zero_grad()
