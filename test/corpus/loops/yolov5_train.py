"""YOLOv5 train.py: accumulation by ``ni - last_opt_step >= accumulate`` with ``ni`` counted over the run.

Source: ultralytics/yolov5, train.py at commit 5081342f04fb287fc2e5f2b5a4e06752b7937b1c, lines
234-236 (``nbs = 64``, ``accumulate = max(round(nbs / batch_size), 1)``) and 337-421 (``nb``,
``nw``, ``last_opt_step = -1``, the epoch and batch loops to ``last_opt_step = ni``); the loss scale
from utils/loss.py (``ComputeLoss.__call__`` returns ``(lbox + lobj + lcls) * bs``, "loss scaled by
batch_size"); ``warmup_epochs: 3.0`` from data/hyps/hyp.scratch-low.yaml (the default ``--hyp``);
utils/dataloaders.py ``create_dataloader`` (shuffled, no drop_last).
URL: https://github.com/ultralytics/yolov5/blob/5081342f04fb287fc2e5f2b5a4e06752b7937b1c/train.py#L337-L421

What reading it shows: ``ni = i + nb * epoch`` counts micro-batches over the whole run and
``last_opt_step`` (start -1) is never reset; the optimizer steps when ``ni - last_opt_step >=
accumulate`` after ``clip_grad_norm_(model.parameters(), max_norm=10.0)`` (always on), then
``optimizer.zero_grad()`` and ``last_opt_step = ni``. ``optimizer.zero_grad()`` also runs at every
epoch start, so the gradient of an epoch's unfinished window is thrown away (never applied), and
the next epoch's first window is shorter by what the previous epoch had already counted.
``accumulate`` is ``round(nbs / batch_size)`` (here ``nbs = K * B`` so that it equals the scenario's
K) but during warm-up, the first ``nw = max(round(warmup_epochs * nb), 100)`` micro-batches of the
run, it ramps as ``max(1, round(interp(ni, [0, nw], [1, nbs / batch_size])))``: windows of 1, then
2, ... micro-batches. The loss is the batch's mean times its size (the sum over its samples), never
divided by the window: every sample of a step weighs 1 instead of 1/|W| (the learning rate and
the weight decay, ``* batch_size * accumulate / nbs``, are tuned for that).
"""

from __future__ import annotations

import numpy as np
import torch

from accumaudit_probe import RunContext

#: ``warmup_epochs`` in data/hyps/hyp.scratch-low.yaml.
WARMUP_EPOCHS = 3.0
#: ``clip_grad_norm_(..., max_norm=10.0)`` in train.py.
MAX_NORM = 10.0


def train(ctx: RunContext) -> None:
    model, optimizer = ctx.model, ctx.make_optimizer()
    batch_size = ctx.batch_size
    nbs = ctx.accumulation * batch_size  # nominal batch size, chosen so that accumulate == K
    accumulate = max(round(nbs / batch_size), 1)
    loader = ctx.make_loader()
    nb = len(loader)
    nw = max(round(WARMUP_EPOCHS * nb), 100)
    last_opt_step = -1
    for epoch in ctx.epochs_iter():
        model.train()
        optimizer.zero_grad()
        for i, batch in enumerate(loader):
            ni = i + nb * epoch
            if ni <= nw:
                xi = [0, nw]
                accumulate = max(1, np.interp(ni, xi, [1, nbs / batch_size]).round())
            x, y, ids = ctx.to_device(batch)
            loss = model(x, y, ids).loss * len(ids)  # "loss scaled by batch_size"
            loss.backward()
            if ni - last_opt_step >= accumulate:
                torch.nn.utils.clip_grad_norm_(model.parameters(), max_norm=MAX_NORM)
                optimizer.step()
                optimizer.zero_grad()
                last_opt_step = ni
