"""OpenMMLab mmengine: ``Runner(...).train()`` with ``OptimWrapper(accumulative_counts=K)``.

The probe is wrapped in an mmengine ``BaseModel`` whose ``forward(..., mode="loss")`` returns
``{"loss": micro-batch mean}``, as mmengine models do; ``BaseModel.train_step`` (mmengine's own)
passes it to ``optim_wrapper.update_params``, which divides it by its loss factor, runs backward,
and steps and zeroes the gradient when its counter says so. The Runner gets:

- ``train_dataloader=ctx.make_loader()``: a built ``DataLoader`` object (the Runner accepts one
  and iterates it as it is), so the scenario's micro-batches of B, ``drop_last`` and seeded shuffle
  are kept exactly; built from a dict, mmengine would make its own ``DefaultSampler`` and order;
- ``train_cfg=dict(by_epoch=True, max_epochs=E)``: ``EpochBasedTrainLoop``;
- ``optim_wrapper=dict(type="OptimWrapper", optimizer=ctx.make_optimizer(), accumulative_counts=K)``:
  the built torch SGD, wrapped as it is (no constructor, no learning-rate scaling, no clipping);
- a custom ``Hook`` whose ``before_train_epoch`` sets the probe's epoch tag.

What mmengine 0.10.7 does with that (paths under ``site-packages/mmengine``):

- ``Runner.train`` calls ``optim_wrapper.initialize_count_status(model, 0, max_iters)`` once for
  the whole run (``runner/runner.py:1768``), with ``max_iters = max_epochs * len(dataloader)``
  (``runner/loops.py:50``). The wrapper's counter ``_inner_count`` (``+= 1`` in ``backward``,
  ``optim/optimizer/optimizer_wrapper.py:221``) is never reset at an epoch boundary: it steps when
  ``_inner_count % K == 0`` or ``_inner_count == max_iters`` (``should_update``, line 345). So when
  an epoch's micro-batches are not a multiple of K, a window reaches across the epoch boundary:
  the epoch's last micro-batches are applied with the next epoch's first ones, in a step taken in
  the next epoch; only the run's very last window is flushed.
- ``scale_loss`` (lines 376-398) divides every micro-batch's mean loss by K, except the run's last
  ``max_iters % K`` micro-batches (``_remainder_counts``, line 333), divided by ``max_iters % K``.
  A sample weighs 1 / (factor * |its micro-batch|), never 1 / |window's samples|: a short last
  micro-batch is over-weighted inside its window, and the tail of every epoch but the run's last
  is in a step of the next epoch.

Settings and bends (what an mmengine user does the same way to get the same run):

- no files beyond a temporary ``work_dir`` that is removed: ``default_hooks=dict(checkpoint=None)``
  (no checkpoints) and ``visualizer=dict(type="Visualizer", vis_backends=[])`` (no ``vis_data``;
  the default is a ``LocalVisBackend`` under the work_dir); ``log_level="WARNING"`` keeps the
  Runner's environment and hook banners off stdout, and a filter on the run's logger drops the one
  warning left, that the probe dataset has no ``metainfo`` for the visualizer (``runner/loops.py:62``);
- ``experiment_name`` unique per run (bend): mmengine keys its process-wide ``MessageHub``,
  ``MMLogger``, ``Visualizer`` and ``DefaultScope`` instances by the experiment name, by default the
  start time to the second (``runner.py:379-384``), and ``get_instance`` hands back an existing
  instance (``utils/manager.py``): a second Runner started in the same second gets the first's
  message hub (its iteration and loss history), logger (whose file is in the first's work_dir) and
  visualizer. A user running several Runners in one process passes a distinct ``experiment_name``.
  After the run (also when it raises) the adapter drops its instances and closes its logger's
  file handler, so a long-lived worker keeps nothing of a run and needs no reset function;
- ``randomness=dict(seed=dataSeed)``: the Runner always reseeds ``random``, ``numpy`` and ``torch``
  (from a random seed when none is given); given the scenario's seed it leaves them as the harness
  set them;
- ``env_cfg=dict(mp_cfg=dict(mp_start_method=<the current one>))``: the Runner otherwise forces
  the process's multiprocessing start method to ``fork`` (``utils/dl_utils/setup_env.py:32``).

Precision: ``AmpOptimWrapper`` asserts CUDA, NPU, MLU or MUSA in its constructor
(``optim/optimizer/amp_optimizer_wrapper.py:76``), so on the CPU fp16 and bf16 run as fp32, with a
warning (the probe model sees the fp32 forward passes and the trace records them). On CUDA the adapter uses
``AmpOptimWrapper(dtype="float16" | "bfloat16")`` (autocast plus a dynamic ``GradScaler``; not run
here). Device: the Runner moves the model to ``mmengine.device.get_device()`` (``runner.py:874``),
fixed when mmengine is imported; a CPU run on a machine with a GPU needs ``CUDA_VISIBLE_DEVICES=-1``
in the environment (as mmengine's ``Runner.wrap_model`` says), and the adapter refuses it otherwise.

Step semantics (issue 21), each through mmengine's own option:

- clipNorm: ``clip_grad=dict(max_norm=C)`` in the optim_wrapper config. ``OptimWrapper.step``
  calls ``_clip_grad`` (``torch.nn.utils.clip_grad_norm_`` over every parameter of the optimizer's
  param_groups) right before ``optimizer.step()``, and ``update_params`` calls ``step`` only when
  ``should_update()``: once per window, on the window's whole gradient.
- schedule / warmupSteps: ``param_scheduler`` by iteration (``by_epoch=False``) over the scenario's
  T applied steps: mmengine's own ``LinearLR(start_factor=1, end_factor=0, end=T + 1)`` (it
  reaches ``end_factor`` at ``end - begin - 1``),
  ``CosineAnnealingLR(T_max=T, eta_min=0)`` or ``StepLR(step_size=1, gamma=0.9)`` where the
  schedule has no warm-up (each equals the scenario's schedule); with a warm-up, which no mmengine
  scheduler starts from 0 (``LinearLR``'s chained factor divides by ``start_factor``), the
  custom scheduler :class:`ScenarioLR`, built as mmengine builds its own LR schedulers (a
  ``_ParamScheduler`` with ``LRSchedulerMixin`` whose ``_get_value`` gives the rate at
  ``last_step``). ``ParamSchedulerHook.after_train_iter`` steps every ``by_epoch=False``
  scheduler after every iteration, that is after every micro-batch.
- ema: ``EMAHook(momentum=1 - decay)`` in ``custom_hooks``: ``ExponentialMovingAverage`` updates
  ``ema = (1 - momentum) * ema + momentum * theta`` (``model/averaged_model.py``), its first call
  copying theta; ``EMAHook.after_train_iter`` calls it after every iteration.
- optimizer: ``ctx.make_optimizer()`` (SGD or AdamW), wrapped as it is.
- overflowStep: on the CPU the run is fp32 (above): no GradScaler is there to skip the step.
"""

from __future__ import annotations

import itertools
import logging
import multiprocessing
import os
import tempfile
from typing import Any, cast

import mmengine
import torch
from mmengine.device import get_device
from mmengine.hooks import EMAHook, Hook
from mmengine.logging import MessageHub, MMLogger
from mmengine.model import BaseModel
from mmengine.optim.scheduler.lr_scheduler import LRSchedulerMixin
from mmengine.optim.scheduler.param_scheduler import _ParamScheduler
from mmengine.registry import DefaultScope
from mmengine.runner import Runner
from mmengine.visualization import Visualizer

from ..context import RunContext
from ..probe import ProbeModel
from ..schedule import STEP_SCHEDULE_GAMMA, schedule_factor

logger = logging.getLogger(__name__)

#: AmpOptimWrapper's ``dtype`` for each mixed precision.
AMP_DTYPES = {"fp16": "float16", "bf16": "bfloat16"}

#: Prefix of the experiment names this adapter gives its Runners.
EXPERIMENT_PREFIX = "accumaudit"

#: mmengine's process-wide managers, keyed by the Runner's experiment name.
MANAGERS = (MessageHub, MMLogger, Visualizer, DefaultScope)

_runs = itertools.count()


class ProbeClassifier(BaseModel):
    """The probe model as an mmengine model: ``mode="loss"`` returns the micro-batch's mean loss."""

    def __init__(self, probe: ProbeModel):
        super().__init__()
        self.probe = probe

    def forward(self, x: torch.Tensor, y: torch.Tensor, ids: torch.Tensor, mode: str = "tensor") -> Any:
        output = self.probe(x, y, ids)
        if mode == "loss":
            return {"loss": output.loss}
        return output


class DropNoMetainfo(logging.Filter):
    """Drops the one warning every run would print: the probe dataset has no ``metainfo`` (for the visualizer)."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "has no metainfo" not in record.getMessage()


class EpochTag(Hook):
    """Sets the probe's epoch tag at every epoch start (``runner.epoch`` counts from 0)."""

    def __init__(self, ctx: RunContext):
        self.ctx = ctx

    def before_train_epoch(self, runner: Runner) -> None:
        self.ctx.set_epoch(runner.epoch)


def optim_wrapper_config(ctx: RunContext) -> dict[str, Any]:
    """``OptimWrapper`` (fp32, or mixed precision on the CPU) or ``AmpOptimWrapper`` (CUDA) with K."""
    config: dict[str, Any] = {
        "type": "OptimWrapper",
        "optimizer": ctx.make_optimizer(),
        "accumulative_counts": ctx.accumulation,
    }
    if ctx.clip_norm is not None:
        config["clip_grad"] = {"max_norm": ctx.clip_norm}
    if ctx.precision in AMP_DTYPES:
        if ctx.device == "cuda":
            config.update(type="AmpOptimWrapper", dtype=AMP_DTYPES[ctx.precision])
        else:
            logger.warning(
                "mmengine: precision %s on cpu runs in fp32 (AmpOptimWrapper requires a GPU, NPU, MLU or MUSA)",
                ctx.precision,
            )
    return config


class ScenarioLR(LRSchedulerMixin, _ParamScheduler):
    """The scenario's schedule with its warm-up as an mmengine LR scheduler (mmengine has no
    ``LambdaLR``): the rate at the scheduler's ``last_step`` s is ``base * schedule_factor(s)``."""

    def __init__(self, optimizer: Any, schedule: str, length: int, warmup: int, **kwargs: Any):
        self.schedule, self.length, self.warmup = schedule, length, warmup
        super().__init__(optimizer, **kwargs)

    def _get_value(self) -> list[float]:
        factor = schedule_factor(self.schedule, self.last_step, self.length, self.warmup)
        return [base * factor for base in self.base_values]


def param_scheduler_config(ctx: RunContext) -> list[dict[str, Any]]:
    """The scenario's schedule as mmengine param schedulers by iteration, over its T applied steps."""
    total, warmup = ctx.schedule_length, ctx.warmup_steps
    by_iter: dict[str, Any] = {"by_epoch": False, "begin": 0, "end": max(1, total)}
    if warmup > 0:
        return [dict(type=ScenarioLR, schedule=ctx.schedule, length=total, warmup=warmup, **by_iter)]
    if ctx.schedule == "linear":
        # LinearLR reaches end_factor at step end - begin - 1 (its total_iters): 0 at s = T.
        return [dict(type="LinearLR", start_factor=1.0, end_factor=0.0, **{**by_iter, "end": total + 1})]
    if ctx.schedule == "cosine":
        return [dict(type="CosineAnnealingLR", T_max=max(1, total), eta_min=0.0, **by_iter)]
    if ctx.schedule == "step":
        return [dict(type="StepLR", step_size=1, gamma=STEP_SCHEDULE_GAMMA, **by_iter)]
    return []


def ema_hook(ctx: RunContext) -> list[Hook]:
    """``EMAHook(momentum=1 - decay)``, its average watched by the recorder; none without an EMA."""
    decay = ctx.ema_decay
    if decay is None:
        return []
    hook = EMAHook(momentum=1.0 - decay)

    def average() -> list[torch.Tensor] | None:
        model = getattr(hook, "ema_model", None)  # built in EMAHook.before_run
        return None if model is None else list(cast(torch.nn.Module, model.module).parameters())

    ctx.watch_average(average)
    return [hook]


def check_device(ctx: RunContext) -> None:
    """Refuses a run whose device is not the one mmengine's Runner moves the model to."""
    device = get_device()
    if device != ctx.device:
        raise RuntimeError(
            f"mmengine trains on {device} (mmengine.device.get_device(), fixed at import), the scenario on"
            f" {ctx.device}; for a CPU run on a machine with a GPU set CUDA_VISIBLE_DEVICES=-1 in the environment"
        )


def forget(name: str) -> None:
    """Drops mmengine's manager instances called ``name`` and closes that logger's handlers."""
    for manager in MANAGERS:
        instance = manager._instance_dict.pop(name, None)
        if isinstance(instance, logging.Logger):
            for handler in instance.handlers:
                if isinstance(handler, logging.FileHandler):
                    handler.close()
            instance.handlers.clear()


def train(ctx: RunContext) -> None:
    """``mmengine``: ``Runner.train`` on the scenario's loader, ``accumulative_counts=K``, E epochs."""
    ctx.set_framework("mmengine", mmengine.__version__)
    check_device(ctx)
    experiment = f"{EXPERIMENT_PREFIX}-{os.getpid()}-{next(_runs)}"
    with tempfile.TemporaryDirectory(prefix="accumaudit-mmengine-") as work_dir:
        try:
            runner = Runner(
                model=ProbeClassifier(ctx.model),
                work_dir=work_dir,
                train_dataloader=ctx.make_loader(),
                train_cfg=dict(by_epoch=True, max_epochs=ctx.epochs),
                optim_wrapper=optim_wrapper_config(ctx),
                param_scheduler=param_scheduler_config(ctx) or None,
                default_hooks=dict(checkpoint=None),
                custom_hooks=[EpochTag(ctx), *ema_hook(ctx)],
                visualizer=dict(type="Visualizer", vis_backends=[]),
                log_level="WARNING",
                randomness=dict(seed=int(ctx.scenario["dataSeed"])),
                env_cfg=dict(mp_cfg=dict(mp_start_method=multiprocessing.get_start_method())),
                experiment_name=experiment,
            )
            runner.logger.addFilter(DropNoMetainfo())
            runner.train()
        finally:
            # The Runner appends its timestamp to the experiment name.
            for manager in MANAGERS:
                for name in [n for n in manager._instance_dict if n.startswith(experiment + "_")]:
                    forget(name)
