"""A loop without epochs, in the shape of nanoGPT's train.py: random draws, a step every K micro-batches.

Every micro-batch is B sample ids drawn with replacement (``ctx.draw_batch()``, nanoGPT's
``torch.randint(N, (B,))``); each step sums K micro-batches' losses, each divided by the window's
draws, so every draw of the window weighs 1 / (its draws) and a sample drawn twice weighs twice.
Audit it from the repository root (after `npm run build --silent` once):

    PYTHONPATH=trainers/python/examples node dist/cli/main.js check --trainer python:my_replacement_loop:train \
        --sampling replacement --steps 5 --dataset-size 50 --batch-size 4 --accumulation 3
"""

from accumaudit_probe import RunContext


def train(ctx: RunContext) -> None:
    model, optimizer = ctx.model, ctx.make_optimizer()
    ctx.set_epoch(0)  # no epochs: the tag stays 0 all run
    for _step in range(ctx.steps):  # S optimizer steps
        window = [ctx.draw_batch() for _ in range(ctx.accumulation)]  # K micro-batches of B draws
        draws = sum(len(ids) for _, _, ids in window)  # every draw counts, repeats included
        for x, y, ids in window:
            loss = model.per_sample_loss(x, y, ids).sum() / draws
            loss.backward()
        optimizer.step()
        optimizer.zero_grad()  # after every step: no window leaks into the next
