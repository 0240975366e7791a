"""transformers 2.0-era examples/run_multiple_choice.py, function ``train``: clipping after every backward.

Source: huggingface/transformers, examples/run_multiple_choice.py at commit
5162acc46c769301ec44ec1885a656c3de0adc2e, function ``train``: from ``model.zero_grad()`` /
``train_iterator = trange(...)`` to the ``max_steps`` breaks.
URL: https://github.com/huggingface/transformers/blob/5162acc46c769301ec44ec1885a656c3de0adc2e/examples/run_multiple_choice.py
Line numbers: not given (the file was read through the search index, whose text carries none); the
anchors above locate the code.

What reading it shows: the run_glue loop of its time (mean loss / K, step and ``model.zero_grad()``
when ``(step + 1) % K == 0``, nothing after the epoch's last micro-batch) with one difference:
``torch.nn.utils.clip_grad_norm_(model.parameters(), args.max_grad_norm)`` runs right after
*every* ``loss.backward()``, on the partial sum accumulated so far, not once on the window's
gradient before the step. ``max_grad_norm`` defaults to 1.0, ``max_steps`` to -1 (no budget).
When a partial sum's norm exceeds 1.0 the micro-batches already in ``.grad`` are scaled down and
the later ones are not: the step is no longer one common scale of the window's gradient.
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
            torch.nn.utils.clip_grad_norm_(model.parameters(), MAX_GRAD_NORM)  # after every backward
            if (step + 1) % k == 0:
                optimizer.step()
                model.zero_grad()
