"""lit-llama finetune/lora.py: a loader that only counts iterations, batches drawn at random with replacement.

Source: Lightning-AI/lit-llama, finetune/lora.py at commit 2a464de2a1d2f266614d15091d3d7f30330c3ede
("add group_by_length optional feature (#398)", the newest commit of the repository), lines 40-44
(``batch_size = 128``, ``micro_batch_size = 4``, ``gradient_accumulation_iters = batch_size //
micro_batch_size``, ``max_iters = 50000 * 3 // micro_batch_size``), 92-145 (``train``), 196-197
(``get_batch``: ``torch.randint(len(data), (micro_batch_size,))``) and 228-252 (``get_dataloader``:
``DataLoader(..., batch_size=micro_batch_size, shuffle=(sampler is None))``).
URL: https://github.com/Lightning-AI/lit-llama/blob/2a464de2a1d2f266614d15091d3d7f30330c3ede/finetune/lora.py#L92-L145

What reading it shows: since that commit ``train`` iterates ``for iter_num, (input_ids, targets)
in enumerate(loader)`` (one pass over the loader, or until ``iter_num >= max_iters``) but then
overwrites ``input_ids, targets`` with ``get_batch(fabric, train_data)``, a random micro-batch drawn
with replacement: the loader's own batches are never trained on, it only sets how many iterations
run. Each micro-batch's loss (token mean) is divided by ``gradient_accumulation_iters`` and the
optimizer steps and zeroes when ``(iter_num + 1) % gradient_accumulation_iters == 0``; when the
loader's length is not a multiple of K, the last iterations' gradient is never applied. The
previous version (commit 99695716396eed07245367348a5382e73fad8834, lines 100-118) looped
``for iter_num in range(max_iters)`` with the same ``get_batch``: nanoGPT's scheme. What is correct
for a with-replacement loop: each step the mean gradient over the B * K draws of its window,
counted with multiplicity.
"""

from __future__ import annotations

import torch

from accumaudit_probe import RunContext
from accumaudit_probe.probe import collate

#: ``max_iters = 50000 * 3 // micro_batch_size`` with the default ``micro_batch_size = 4``.
MAX_ITERS = 50000 * 3 // 4


def train(ctx: RunContext) -> None:
    model, optimizer = ctx.model, ctx.make_optimizer()
    k, b, n = ctx.accumulation, ctx.batch_size, len(ctx.dataset)
    generator = torch.Generator().manual_seed(1337 if ctx.shuffle_seed is None else ctx.shuffle_seed)
    ctx.set_epoch(0)
    loader = ctx.make_loader()
    step_count = 0
    for iter_num, _loader_batch in enumerate(loader):  # the loader's batch is not used
        if iter_num >= MAX_ITERS:
            break
        ix = torch.randint(n, (b,), generator=generator)  # get_batch: with replacement
        x, y, ids = ctx.to_device(collate(ctx.dataset.__getitems__(ix.tolist())))
        loss = model(x, y, ids).loss
        (loss / k).backward()
        if (iter_num + 1) % k == 0:
            optimizer.step()
            optimizer.zero_grad()
            step_count += 1
