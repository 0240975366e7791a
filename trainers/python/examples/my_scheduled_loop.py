"""A correct loop with the step semantics of real training: the scenario's optimizer (AdamW under
--optimizer adamw), a learning-rate schedule with warm-up, gradient clipping and an EMA of the
weights, under fp16's loss scaling. Each acts once per applied optimizer step.

Audit it from the repository root (after `npm run build --silent` once):

    PYTHONPATH=trainers/python/examples node dist/cli/main.js check --trainer python:my_scheduled_loop:train \
        --dataset-size 110 --batch-size 8 --accumulation 4 --epochs 2 --optimizer adamw \
        --schedule cosine --warmup-steps 2 --clip-norm 0.1 --ema 0.9 --precision fp16 --overflow-step 3
"""

from itertools import islice

from torch.nn.utils import clip_grad_norm_

from accumaudit_probe import RunContext


def train(ctx: RunContext) -> None:
    model, optimizer, scaler = ctx.model, ctx.make_optimizer(), ctx.make_scaler()
    scheduler = ctx.make_scheduler(optimizer)  # LambdaLR: warm-up, then the schedule
    ema = ctx.make_ema() if ctx.ema_decay is not None else None  # AveragedModel, watched by the recorder
    loader = ctx.make_loader()
    for epoch in ctx.epochs_iter():
        optimizer.zero_grad()
        batches = iter(loader)
        while window := list(islice(batches, ctx.accumulation)):
            samples = sum(len(batch["ids"]) for batch in window)
            while True:  # a window whose step the scaler skips (inf/nan) is redone
                for batch in window:
                    x, y, ids = ctx.to_device(batch)
                    with ctx.autocast():
                        loss = model.per_sample_loss(x, y, ids).sum() / samples
                    scaler.scale(loss).backward()
                scale = scaler.get_scale()
                if ctx.clip_norm is not None:  # once, on the whole window's unscaled gradient
                    scaler.unscale_(optimizer)
                    clip_grad_norm_(model.parameters(), ctx.clip_norm)
                scaler.step(optimizer)
                scaler.update()
                optimizer.zero_grad()
                if scaler.get_scale() >= scale:  # applied: a skipped step lowers the scale
                    break
            scheduler.step()  # once per applied step
            if ema is not None:
                ema.update_parameters(model)  # once per applied step, right after it
