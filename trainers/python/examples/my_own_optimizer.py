"""An optimizer outside torch.optim, recorded with ctx.record_step() (both ways of reading the gradient).

The recorder sees torch.optim steps only. Without record_step these trainers fail with
"the probe model's parameters (...) changed but no torch.optim step was seen". Audit them from the
repository root (after `npm run build --silent` once):

    PYTHONPATH=trainers/python/examples node dist/cli/main.js check --trainer python:my_own_optimizer:train \
        --dataset-size 110 --batch-size 8 --accumulation 4 --epochs 2
    PYTHONPATH=trainers/python/examples node dist/cli/main.js check --trainer python:my_own_optimizer:train_by_change \
        --dataset-size 110 --batch-size 8 --accumulation 4 --epochs 2
"""

from itertools import islice

import torch

from accumaudit_probe import RunContext


class PlainSGD:
    """Hand-written SGD, not a torch.optim.Optimizer: applies .grad, then clears it."""

    def __init__(self, parameters, lr: float):
        self.parameters, self.lr = list(parameters), lr

    @torch.no_grad()
    def step(self) -> None:
        for p in self.parameters:
            if p.grad is not None:
                p -= self.lr * p.grad
                p.grad = None

    def zero_grad(self) -> None:
        for p in self.parameters:
            p.grad = None


def run(ctx: RunContext, learning_rate: float | None) -> None:
    """The correct loop of my_correct_loop.py with PlainSGD, each step inside ctx.record_step."""
    model = ctx.model
    optimizer = PlainSGD(model.parameters(), ctx.learning_rate)
    loader = ctx.make_loader()
    for epoch in ctx.epochs_iter():
        optimizer.zero_grad()
        batches = iter(loader)
        while window := list(islice(batches, ctx.accumulation)):
            samples = sum(len(batch["ids"]) for batch in window)
            for batch in window:
                x, y, ids = ctx.to_device(batch)
                (model.per_sample_loss(x, y, ids).sum() / samples).backward()
            with ctx.record_step(learning_rate=learning_rate):  # one applied step, around the update
                optimizer.step()
            optimizer.zero_grad()


def train(ctx: RunContext) -> None:
    """record_step(): the step applies .grad as it is on entry to the block."""
    run(ctx, learning_rate=None)


def train_by_change(ctx: RunContext) -> None:
    """record_step(learning_rate=lr): the step applies (parameters before - after) / lr."""
    run(ctx, learning_rate=ctx.learning_rate)
