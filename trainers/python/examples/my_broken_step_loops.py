"""BROKEN on purpose: four loops that accumulate the gradient right but get a step's semantics wrong
(compare my_scheduled_loop.py). Audit one from the repository root (after `npm run build --silent`):

    PYTHONPATH=trainers/python/examples node dist/cli/main.js check \
        --trainer python:my_broken_step_loops:scheduler_per_micro_batch \
        --dataset-size 110 --batch-size 8 --accumulation 4 --epochs 2 --schedule linear --warmup-steps 2

- ``scheduler_per_micro_batch``: ``scheduler.step()`` after every backward, K ticks per step
  (--schedule linear or cosine, or --warmup-steps).
- ``clip_per_micro_batch``: ``clip_grad_norm_`` after every backward, so it clips the running sum of
  a window and the window's micro-batches weigh differently (--clip-norm).
- ``ema_per_micro_batch``: ``ema.update_parameters`` after every backward, K updates per step (--ema).
- ``scheduler_on_skipped_step``: redoes a window the scaler skipped, but ticks the schedule on the
  skipped step too (--precision fp16 --overflow-step 2 and a schedule).
"""

from itertools import islice

from torch.nn.utils import clip_grad_norm_

from accumaudit_probe import RunContext


def scheduler_per_micro_batch(ctx: RunContext) -> None:
    model, optimizer = ctx.model, ctx.make_optimizer()
    scheduler = ctx.make_scheduler(optimizer)
    loader = ctx.make_loader()
    for epoch in ctx.epochs_iter():
        optimizer.zero_grad()
        batches = iter(loader)
        while window := list(islice(batches, ctx.accumulation)):
            samples = sum(len(batch["ids"]) for batch in window)
            for batch in window:
                x, y, ids = ctx.to_device(batch)
                (model.per_sample_loss(x, y, ids).sum() / samples).backward()
                scheduler.step()  # BROKEN: K ticks per optimizer step
            optimizer.step()
            optimizer.zero_grad()


def clip_per_micro_batch(ctx: RunContext) -> None:
    model, optimizer = ctx.model, ctx.make_optimizer()
    loader = ctx.make_loader()
    for epoch in ctx.epochs_iter():
        optimizer.zero_grad()
        batches = iter(loader)
        while window := list(islice(batches, ctx.accumulation)):
            samples = sum(len(batch["ids"]) for batch in window)
            for batch in window:
                x, y, ids = ctx.to_device(batch)
                (model.per_sample_loss(x, y, ids).sum() / samples).backward()
                if ctx.clip_norm is not None:
                    clip_grad_norm_(model.parameters(), ctx.clip_norm)  # BROKEN: clips a partial sum
            optimizer.step()
            optimizer.zero_grad()


def ema_per_micro_batch(ctx: RunContext) -> None:
    model, optimizer = ctx.model, ctx.make_optimizer()
    ema = ctx.make_ema()
    loader = ctx.make_loader()
    for epoch in ctx.epochs_iter():
        optimizer.zero_grad()
        batches = iter(loader)
        while window := list(islice(batches, ctx.accumulation)):
            samples = sum(len(batch["ids"]) for batch in window)
            for batch in window:
                x, y, ids = ctx.to_device(batch)
                (model.per_sample_loss(x, y, ids).sum() / samples).backward()
                ema.update_parameters(model)  # BROKEN: K updates per step, on the weights before it
            optimizer.step()
            optimizer.zero_grad()


def scheduler_on_skipped_step(ctx: RunContext) -> None:
    model, optimizer, scaler = ctx.model, ctx.make_optimizer(), ctx.make_scaler()
    scheduler = ctx.make_scheduler(optimizer)
    loader = ctx.make_loader()
    for epoch in ctx.epochs_iter():
        optimizer.zero_grad()
        batches = iter(loader)
        while window := list(islice(batches, ctx.accumulation)):
            samples = sum(len(batch["ids"]) for batch in window)
            while True:
                for batch in window:
                    x, y, ids = ctx.to_device(batch)
                    with ctx.autocast():
                        loss = model.per_sample_loss(x, y, ids).sum() / samples
                    scaler.scale(loss).backward()
                scale = scaler.get_scale()
                scaler.step(optimizer)
                scaler.update()
                optimizer.zero_grad()
                scheduler.step()  # BROKEN: ticks on a step the scaler skipped too
                if scaler.get_scale() >= scale:
                    break
