"""BROKEN on purpose: the accumulation loop of framework documentation.

It divides every micro-batch's mean loss by K and steps when (i + 1) % K == 0. With 110 samples,
micro-batches of 8 and K = 4, the last 14 samples of an epoch never reach a step in their epoch:
their gradient stays in .grad and leaks into the first step of the next epoch (where it is added
to a full window), and after the last epoch it is never applied at all.

Audit it from the repository root (after `npm run build --silent` once); it must FAIL:

    PYTHONPATH=trainers/python/examples node dist/cli/main.js check --trainer python:my_broken_loop:train \
        --dataset-size 110 --batch-size 8 --accumulation 4 --epochs 2
"""

from accumaudit_probe import RunContext


def train(ctx: RunContext) -> None:
    model, optimizer, scaler = ctx.model, ctx.make_optimizer(), ctx.make_scaler()
    loader = ctx.make_loader()
    for epoch in ctx.epochs_iter():
        for i, batch in enumerate(loader):
            x, y, ids = ctx.to_device(batch)
            with ctx.autocast():
                loss = model(x, y, ids).loss / ctx.accumulation  # mean / K, whatever the window holds
            scaler.scale(loss).backward()
            if (i + 1) % ctx.accumulation == 0:  # the last incomplete window never steps
                scaler.step(optimizer)
                scaler.update()
                optimizer.zero_grad()
