"""nanoGPT train.py: random micro-batches drawn with replacement, a fixed number of iterations, no epochs.

Source: karpathy/nanoGPT, train.py at commit 3adf61e154c3fe3fca428ad6bc3818b27a3b8291 (the file
last changed in dc81cb368ce3e5761f298726fb3fade1b0ca5901), lines 48-49 and 59 (defaults
``gradient_accumulation_steps = 5 * 8``, ``batch_size = 12``, ``max_iters = 600000``), 63
(``grad_clip = 1.0``), 112 (``ctx = nullcontext() if device_type == 'cpu' else torch.amp.autocast(...)``),
116-125 (``get_batch``: ``torch.randint`` offsets, i.e. with replacement) and 250-333 (the loop).
URL: https://github.com/karpathy/nanoGPT/blob/3adf61e154c3fe3fca428ad6bc3818b27a3b8291/train.py#L250-L333

What reading it shows: one batch is fetched before the loop. Every iteration runs exactly
``gradient_accumulation_steps`` micro-steps: forward, ``loss / gradient_accumulation_steps``,
fetch the next random batch, backward; then (``grad_clip = 1.0``) ``clip_grad_norm_`` over all
parameters, ``scaler.step``, ``scaler.update``, ``optimizer.zero_grad(set_to_none=True)``;
``iter_num += 1`` and the loop ends when ``iter_num > max_iters`` (``max_iters + 1`` steps). There
are no epochs: every micro-batch is ``batch_size`` samples drawn uniformly with replacement, so a
sample can appear several times in a window or not at all. What is correct for such a loop: every
step applies the mean gradient over the ``B * K`` draws of its window, counted with multiplicity
(a sample drawn twice weighs 2 / (B * K)); coverage per epoch does not apply.

Re-expressed with the probe's dataset as the pool: ``MAX_ITERS`` is derived from the scenario so
the run draws about as many samples as its epochs hold (ceil(E * N / (B * K)) steps). Clipping at
1.0 is kept. On the CPU nanoGPT runs without autocast (fp32), as here.
"""

from __future__ import annotations

import math

import torch

from accumaudit_probe import RunContext
from accumaudit_probe.probe import collate

#: ``grad_clip`` default.
GRAD_CLIP = 1.0


def train(ctx: RunContext) -> None:
    model, optimizer = ctx.model, ctx.make_optimizer()
    k, b, n = ctx.accumulation, ctx.batch_size, len(ctx.dataset)
    # max_iters is a config value; the scenario's --steps under --sampling replacement, else as many
    # steps as the epochs' samples fill. The loop runs max_iters + 1 steps.
    steps = ctx.steps if ctx.sampling == "replacement" else math.ceil(ctx.epochs * n / (b * k))
    max_iters = steps - 1
    generator = torch.Generator().manual_seed(1337 if ctx.shuffle_seed is None else ctx.shuffle_seed)
    ctx.set_epoch(0)  # no epochs: every draw is tagged epoch 0

    def get_batch():
        ix = torch.randint(n, (b,), generator=generator)  # with replacement
        return ctx.to_device(collate(ctx.dataset.__getitems__(ix.tolist())))

    x, y, ids = get_batch()  # fetch the very first batch
    iter_num = 0
    while True:
        for _micro_step in range(k):
            loss = model(x, y, ids).loss
            loss = loss / k
            x, y, ids = get_batch()  # prefetch the next batch
            loss.backward()
        if GRAD_CLIP != 0.0:
            torch.nn.utils.clip_grad_norm_(model.parameters(), GRAD_CLIP)
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        iter_num += 1
        if iter_num > max_iters:
            break
