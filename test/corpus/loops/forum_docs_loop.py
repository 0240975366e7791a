"""The loop of the HuggingFace Medium post, as quoted on the PyTorch forum.

Source: https://discuss.pytorch.org/t/pytorch-gradient-accumulation/55955 (the question's first
snippet, which quotes https://medium.com/huggingface/training-larger-batches-practical-tips-on-1-gpu-multi-gpu-distributed-setups-ec88c3e51255).
Read from the stored copy of the page (search corpus "pages"); a web page has no commit.

What reading it shows: ``model.zero_grad()`` once before the loop; for every micro-batch the mean loss
is divided by ``accumulation_steps`` and back-propagated; the optimizer steps and ``model.zero_grad()``
clears the gradient only when ``(i + 1) % accumulation_steps == 0``. Nothing steps after the last
micro-batch, which the question on the forum itself points out (960 samples, batches of 64, 15
batches, K = 2: "the parameters are not updated for the last batch"). The snippet shows one pass
over ``training_set``; the epoch loop around it is ours (the forum question is about every epoch's
last batch), with the counter ``i`` restarting in every epoch as ``enumerate`` does.
"""

from __future__ import annotations

from accumaudit_probe import RunContext


def train(ctx: RunContext) -> None:
    model, optimizer = ctx.model, ctx.make_optimizer()
    k = ctx.accumulation
    loader = ctx.make_loader()
    model.zero_grad()  # once, before the loop
    for _epoch in ctx.epochs_iter():
        for i, batch in enumerate(loader):
            x, y, ids = ctx.to_device(batch)
            loss = model(x, y, ids).loss  # the micro-batch's mean loss
            loss = loss / k
            loss.backward()
            if (i + 1) % k == 0:
                optimizer.step()
                model.zero_grad()
