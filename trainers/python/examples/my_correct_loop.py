"""A correct accumulation loop: every sample of a window weighs 1 / (the window's samples).

Audit it from the repository root (after `npm run build --silent` once):

    PYTHONPATH=trainers/python/examples node dist/cli/main.js check --trainer python:my_correct_loop:train \
        --dataset-size 110 --batch-size 8 --accumulation 4 --epochs 2
"""

from itertools import islice

from accumaudit_probe import RunContext


def train(ctx: RunContext) -> None:
    model, optimizer, scaler = ctx.model, ctx.make_optimizer(), ctx.make_scaler()
    loader = ctx.make_loader()  # once: its generator gives every epoch a new order
    for epoch in ctx.epochs_iter():  # sets the epoch tag at every epoch start
        optimizer.zero_grad()  # nothing from the previous epoch leaks into this one
        batches = iter(loader)
        # A window is K micro-batches; the epoch's last window holds what is left (it is flushed too).
        while window := list(islice(batches, ctx.accumulation)):
            samples = sum(len(batch["ids"]) for batch in window)
            for batch in window:
                x, y, ids = ctx.to_device(batch)
                with ctx.autocast():
                    # The sum of the per-sample losses over the window's sample count, not mean / K.
                    loss = model.per_sample_loss(x, y, ids).sum() / samples
                scaler.scale(loss).backward()
            scaler.step(optimizer)
            scaler.update()
            optimizer.zero_grad()  # after every step
