"""torchtune recipes/full_finetune_single_device.py ``train``: token-weighted accumulation, epoch tail never reached.

Source: pytorch/torchtune, recipes/full_finetune_single_device.py at the snapshot commit
bd2a0fc7c31430972728494fa01aaeeb0ebf1ba1 (the file last changed in
dc0441a095039dcd950c0afd916657b91c63835d), lines 320-327 (``_steps_per_epoch = len(dataloader) //
gradient_accumulation_steps``, capped by ``max_steps_per_epoch``), 503-518 (``StatefulDataLoader(...,
drop_last=True)`` over a ``StatefulDistributedSampler``) and 571-688 (``train``).
URL: https://github.com/pytorch/torchtune/blob/bd2a0fc7c31430972728494fa01aaeeb0ebf1ba1/recipes/full_finetune_single_device.py#L571-L688

What reading it shows: ``optimizer.zero_grad()`` and ``running_loss, num_tokens = 0.0, 0`` once
before the epochs. In every epoch ``batch_count`` restarts at 0 and the ``while inner_step_count <
_steps_per_epoch`` loop fetches micro-batches; each one's loss (the token mean) is multiplied by
its count of label tokens (``labels != ignore_index``), so it is the token sum, and
back-propagated; ``num_tokens`` adds the count. When ``(batch_count + 1) % K == 0`` every gradient
is scaled by ``1 / num_tokens`` (``training.scale_grads_``), clipped only if ``clip_grad_norm`` is
set (default None), the optimizer steps, ``zero_grad(set_to_none=True)``, and ``num_tokens`` is
reset. The window's weighting is exact (per token; per sample when every sample is one unit). But
``_steps_per_epoch = len(dataloader) // K`` and the while loop stops once that many steps are
done: the micro-batches after the last full window are never even fetched, so the epoch's last,
shorter window is never trained, in every epoch. The loader drops the last incomplete batch.
"""

from __future__ import annotations

import torch

from accumaudit_probe import RunContext


def train(ctx: RunContext) -> None:
    model, optimizer = ctx.model, ctx.make_optimizer()
    k = ctx.accumulation
    loader = ctx.make_loader()  # torchtune: drop_last=True
    steps_per_epoch = len(loader) // k  # max_steps_per_epoch is None
    global_step = 0
    optimizer.zero_grad()
    running_loss, num_tokens = 0.0, 0
    for _epoch in ctx.epochs_iter():
        inner_step_count = global_step % steps_per_epoch
        dataloader_iter = iter(loader)
        batch_count = 0
        while inner_step_count < steps_per_epoch:
            try:
                batch = next(dataloader_iter)
            except StopIteration:
                break
            x, y, ids = ctx.to_device(batch)
            current_num_tokens = model.loss_units(y)  # labels other than ignore_index
            num_tokens += current_num_tokens
            current_loss = model(x, y, ids).loss * current_num_tokens
            running_loss += current_loss.detach()
            current_loss.backward()
            if (batch_count + 1) % k == 0:
                with torch.no_grad():  # training.scale_grads_(model.parameters(), 1.0 / num_tokens)
                    for p in model.parameters():
                        if p.grad is not None:
                            p.grad.mul_(1.0 / num_tokens)
                optimizer.step()
                optimizer.zero_grad(set_to_none=True)
                global_step += 1
                inner_step_count += 1
                running_loss, num_tokens = 0.0, 0
            batch_count += 1
