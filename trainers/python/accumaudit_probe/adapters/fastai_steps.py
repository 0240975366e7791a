"""The scenario's step semantics as fastai options (fastai 2.8): the callbacks and the optimizer a fastai user adds.

- ``clipNorm`` C: ``GradientClip(max_norm=C)`` (``fastai/callback/training.py``), a callback whose
  ``before_step`` calls ``clip_grad_norm_(learn.parameters(), C)``. Its order
  (``MixedPrecision.order + 1``) puts it after ``GradientAccumulation`` (order ``MixedPrecision.order
  - 4``), whose ``before_step`` raises ``CancelBatchException`` on the micro-batches that do not
  step: the rest of ``before_step`` (clipping included) runs only on the micro-batch that steps.
- ``schedule`` / ``warmupSteps``: ``ParamScheduler({"lr": sched})`` (``fastai/callback/schedule.py``).
  A fastai schedule is a function of ``pct``, the fraction of training done; ``ParamScheduler``
  calls it in ``before_batch`` with ``learn.pct_train``, which ``TrainEvalCallback.after_batch``
  advances by ``1 / (n_iter * n_epoch)`` after every batch (``fastai/callback/core.py``): fastai's
  clock is the micro-batch, the schedule is set anew before each one, and a step runs at the rate
  set before its window's last micro-batch. ``sched`` is the scenario's schedule on fastai's axis:
  the fraction ``pct`` of training is ``pct * T`` of the T steps, and the scenario's rate holds
  for a whole step, so ``sched(pct) = lr * f(floor(pct * T))`` (:func:`pct_schedule`).
- ``ema``: none. fastai 2.8 has no weight-averaging callback (no EMA, no SWA in ``fastai.callback``).
- ``optimizer`` adamw: for ``fastai``, ``ctx.make_optimizer()`` (torch AdamW) in ``OptimWrapper``;
  for ``fastai-native``, fastai's own ``Adam`` with ``decouple_wd=True`` (AdamW; ``fastai/optimizer.py``)
  at the scenario's betas, eps and weight decay (:func:`native_optimizer`).
- ``overflowStep`` (fp16): ``MixedPrecision`` (``fastai/callback/fp16.py``), on CUDA only (see with_fastai.py).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from functools import partial
from typing import Any

from fastai.callback.core import Callback
from fastai.callback.schedule import ParamScheduler
from fastai.callback.training import GradientClip
from fastai.optimizer import SGD, Adam

from ..context import ADAMW_WEIGHT_DECAY, RunContext


def pct_schedule(ctx: RunContext) -> Callable[[float], float]:
    """The scenario's learning rate as a fastai schedule: ``pct`` in [0, 1] -> ``lr * f(floor(pct * T))``."""
    total, lr = ctx.schedule_length, ctx.learning_rate

    def sched(pct: float) -> float:
        step = min(total - 1, max(0, math.floor(pct * total)))
        return lr * ctx.schedule_factor(step)

    return sched


def step_callbacks(ctx: RunContext) -> list[Callback]:
    """The fastai callbacks for the scenario's clipping and schedule (none when it sets neither)."""
    callbacks: list[Callback] = []
    if ctx.clip_norm is not None:
        callbacks.append(GradientClip(max_norm=ctx.clip_norm))
    if ctx.schedule != "constant" or ctx.warmup_steps > 0:
        callbacks.append(ParamScheduler({"lr": pct_schedule(ctx)}))
    return callbacks


def is_adamw(ctx: RunContext) -> bool:
    return ctx.scenario.get("optimizer", "sgd") == "adamw"


def native_optimizer(ctx: RunContext) -> Any:
    """fastai's own optimizer for ``fastai-native``: ``SGD`` (no momentum, no weight decay), or
    under ``optimizer: adamw`` ``Adam`` with decoupled weight decay (AdamW) at the scenario's hyper-parameters."""
    if is_adamw(ctx):
        return partial(Adam, mom=0.9, sqr_mom=0.999, eps=1e-8, wd=ADAMW_WEIGHT_DECAY, decouple_wd=True)
    return partial(SGD, mom=0.0, wd=0.0)
