"""fastai: ``Learner.fit(E)`` with the ``GradientAccumulation`` callback, as fastai's docs set it up.

How fastai is used. The scenario's torch ``DataLoader`` (``ctx.make_loader()``: batch_size=B,
drop_last, one seeded generator, so every epoch a new order) goes into fastai's ``DataLoaders``
unchanged, as fastai's "pure PyTorch to fastai" guide does; validation gets an empty loader. The
``Learner`` trains with plain ``fit(E)`` (not ``fit_one_cycle``: the learning rate stays the
scenario's) and ``GradientAccumulation(n_acc=B * K)``: fastai counts samples, not micro-batches.

- ``fastai``: the optimizer is ``ctx.make_optimizer()`` (torch SGD, or AdamW), passed the way fastai takes
  a built torch optimizer, ``opt_func=OptimWrapper(opt=...)``. Its steps are torch.optim steps,
  which the recorder sees by itself.
- ``fastai-native``: fastai's own ``SGD`` (``fastai.optimizer.SGD``, ``mom=0``, ``wd=0``), which
  is not a torch.optim optimizer. Every step it takes is recorded by a callback
  (:class:`RecordSteps`) that opens ``ctx.record_step()`` in ``before_step`` and closes it in
  ``after_step``; its order puts it after ``GradientAccumulation`` (so micro-batches that do not
  step open no block) and before ``MixedPrecision`` (see precision below).

What fastai 2.8 does with the window (``fastai/callback/training.py``, ``GradientAccumulation``;
``fastai/learner.py``, ``Learner._do_one_batch`` / ``_do_grad_opt``):

- ``after_loss`` divides every micro-batch's loss by ``n_acc / bs``, bs its sample count, so the
  mean loss becomes ``sum / n_acc``: every sample weighs ``1 / (B * K)``, also in a window that
  holds fewer samples (the epoch's tail), where ``1 / |W|`` would be right.
- ``before_step`` adds bs to a sample counter and raises ``CancelBatchException`` until the counter
  reaches ``n_acc``; that skips ``opt.step()`` and ``opt.zero_grad()``, so ``.grad`` accumulates.
  At ``n_acc`` or more it lets the step run and sets the counter to 0 (the excess is dropped).
- The counter is reset only in ``before_fit``: it runs across epochs. Nothing steps at an epoch's
  end and nothing zeroes the gradient at an epoch's start, so the epoch's tail (the micro-batches
  after its last full count) is applied in the next epoch's first step, together with that epoch's
  first samples, and the last epoch's tail is never applied.

The bends, and why:

- Batches. fastai splits a batch by position (``Learner._split``: the first ``n_inp`` items are the
  model's inputs, the rest its targets), so the loader's dict batches ``{"x", "y", "ids"}`` are
  handed over as tuples ``(x, y, ids, y)`` with ``n_inp = 3`` (:class:`TupleBatches`). The probe's
  loss needs the label and the sample ids in the model (a per-sample fingerprint term), so the
  model (:class:`FastaiProbe`) takes ``(x, y, ids)`` and returns the per-sample losses; the target
  ``y`` is what ``GradientAccumulation`` counts (``find_bs(yb)``, the micro-batch's sample count).
  The order is the loader's, untouched.
- Loss. ``loss_func(pred, y)`` is the mean of the micro-batch's per-sample losses: what a fastai
  user's ``BCEWithLogitsLossFlat()`` (mean reduction) gives, and what ``GradientAccumulation``
  expects to rescale. Under token weighting the model returns every loss token's loss and the
  mean is the micro-batch's token mean (``CrossEntropyLossFlat(ignore_index=-100)``); the batch
  size ``GradientAccumulation`` counts is still the micro-batch's sample count (``y`` is [B, L]).
- Device. fastai reads the device from ``dls.device`` (else ``default_device()``, which picks CUDA
  whenever it is available); a torch ``DataLoader`` has no ``.to``, so ``DataLoaders(...,
  device=...)`` would ignore the device. :class:`TupleBatches` has a ``to`` for that, so the
  scenario's device is the one used.
- Quiet. The progress bar (``Learner.no_bar``) and the per-epoch log line (``Learner.no_logging``)
  are off; they would print (the worker forwards prints). No metrics, no validation data.
- Precision. fastai's ``MixedPrecision`` builds ``autocast("cuda")`` and ``GradScaler("cuda")``
  whatever the device (``fastai/callback/fp16.py``, ``before_fit``): on the CPU both are disabled
  (torch warns) and training runs in fp32. So on the CPU this runs fp32 without that callback,
  logs a warning (the probe model sees the fp32 forward passes). On CUDA it adds
  ``MixedPrecision(amp_mode=fp16|bf16)``. With fp16, ``MixedPrecision.before_step`` calls
  ``GradScaler.step`` with itself as a fake optimizer (the real ``opt.step()`` comes later, in
  ``Learner._step``); so that fake step is not taken for a skipped step, the applied step is then
  recorded by :class:`RecordSteps` for both optimizers, opened before ``MixedPrecision`` and read as
  the parameters' change divided by lr (the gradient on entry is still scaled there); a step that
  ``MixedPrecision`` cancels on inf/nan records nothing.

Step semantics (fastai_steps.py): ``GradientClip(max_norm=C)`` for clipNorm, ``ParamScheduler({"lr":
sched})`` for the schedule (``sched(pct) = lr * f(floor(pct * T))``: fastai's schedules take the
fraction of training done, advanced per micro-batch), fastai's ``Adam`` (decoupled weight decay)
for ``fastai-native`` under adamw, ``MixedPrecision`` for fp16 on CUDA; no EMA (fastai has none, the
trainers refuse it). :class:`RecordSteps` reads a native step by the parameters' change over it
divided by the rate the optimizer holds when a schedule or clipping is set (``.grad`` on entry is
not yet clipped there, and the rate must be recorded); a step at rate 0 (warm-up's first) is read
from ``.grad`` on entry with its rate recorded, and the optimizer goes to ``ctx.record_step`` so that
``Adam``'s step count (its ``state[p]["step"]``) is recorded.

A fastai user auditing their own code does the same: a fastai optimizer's step recorded by a
callback after ``GradientAccumulation`` (``ctx.record_step()`` from ``before_step`` to
``after_step``), ``set_epoch`` in ``before_epoch``, the scenario's torch loader inside
``DataLoaders`` with the device set, and the loss as the micro-batch mean with the label counted
in ``yb``.

Every run builds a new ``Learner`` and new callbacks; ``GradientAccumulation``'s counter starts at
0 in ``before_fit``; fastai's ``defaults`` (its default callbacks, ``defaults.lr``) are read, never
changed, so one run leaves nothing for the next.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterable, Iterator
from typing import Any

import fastai
import torch
from fastai.callback.core import Callback
from fastai.callback.fp16 import MixedPrecision
from fastai.callback.training import GradientAccumulation, GradientClip
from fastai.data.core import DataLoaders
from fastai.learner import CancelStepException, Learner
from fastai.optimizer import OptimWrapper
from torch import nn

from ..context import RunContext
from ..probe import ProbeModel
from .fastai_steps import is_adamw, native_optimizer, step_callbacks

logger = logging.getLogger(__name__)


class TupleBatches:
    """A torch ``DataLoader`` as fastai takes it: tuple batches ``(x, y, ids, y)``, ``n_inp = 3``, a device.

    Iterating it iterates the loader once (one epoch, the loader's own order); ``to`` is what
    ``DataLoaders(..., device=...)`` calls to set the device fastai moves batches and the model to.
    """

    n_inp = 3

    def __init__(self, loader: Iterable[dict[str, torch.Tensor]], length: int, device: torch.device):
        self.loader, self.length, self.device = loader, length, device

    def __iter__(self) -> Iterator[tuple[torch.Tensor, ...]]:
        for batch in self.loader:
            yield batch["x"], batch["y"], batch["ids"], batch["y"]

    def __len__(self) -> int:
        return self.length

    def to(self, device: torch.device | str) -> TupleBatches:
        self.device = torch.device(device)
        return self


class FastaiProbe(nn.Module):
    """The probe as a fastai model: ``forward(x, y, ids)`` returns the per-sample losses (the
    prediction; per-token losses under token weighting: ``ProbeModel.loss_terms``)."""

    def __init__(self, probe: ProbeModel):
        super().__init__()
        self.probe = probe

    def forward(self, x: torch.Tensor, y: torch.Tensor, ids: torch.Tensor) -> torch.Tensor:
        return self.probe.loss_terms(x, y, ids)


def mean_loss(per_sample: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """The micro-batch's mean loss, as ``BCEWithLogitsLossFlat()`` (mean reduction) returns it."""
    return per_sample.float().mean()


class EpochTag(Callback):
    """Sets the probe's epoch tag at the start of every epoch (``learn.epoch``, from 0)."""

    def __init__(self, ctx: RunContext):
        self.ctx = ctx

    def before_epoch(self) -> None:
        self.ctx.set_epoch(self.epoch)


class RecordSteps(Callback):
    """Records every step fastai takes as one applied step: ``ctx.record_step`` from ``before_step`` to ``after_step``.

    Ordered after ``GradientAccumulation`` (whose ``before_step`` cancels the micro-batches that do
    not step, so they open no block) and before ``MixedPrecision`` (whose ``before_step`` unscales
    and may cancel the step) and ``GradientClip``. A step cancelled with ``CancelStepException`` is
    closed as a block that raised: nothing is recorded. ``by_change``: the step is read as the
    parameters' change over it divided by the rate the optimizer holds at ``before_step`` (what
    ``ParamScheduler`` set for this micro-batch), which sees the clipped, unscaled gradient a plain
    SGD step applied; else ``.grad`` on entry (for fastai's ``Adam``, whose change is not lr x grad).
    A step at rate 0 (warm-up's first) is read from ``.grad`` on entry: no change to divide.
    """

    order = MixedPrecision.order - 1

    def __init__(self, ctx: RunContext, by_change: bool):
        self.ctx, self.by_change = ctx, by_change
        self.block: contextlib.ExitStack | None = None

    def before_fit(self) -> None:
        assert GradientAccumulation.order < self.order < MixedPrecision.order < GradientClip.order

    def before_step(self) -> None:
        rate = float(self.opt.hypers[-1]["lr"]) if self.by_change else None
        self.block = contextlib.ExitStack()
        self.block.enter_context(self.ctx.record_step(learning_rate=rate, optimizer=self.opt))

    def after_cancel_step(self) -> None:
        self.close(CancelStepException())

    def after_step(self) -> None:
        self.close(None)

    def close(self, error: BaseException | None) -> None:
        """Ends the open block, if any: normally (a step recorded) or with ``error`` (nothing recorded)."""
        block, self.block = self.block, None
        if block is None:
            return
        if error is None:
            block.close()
        else:
            block.__exit__(type(error), error, error.__traceback__)


def reads_change(ctx: RunContext, native: bool, scaled: bool) -> bool:
    """Whether :class:`RecordSteps` reads a step by the parameters' change: when ``.grad`` on entry
    is not what the step applies (still scaled under fp16, not yet clipped by ``GradientClip``) or
    the rate must be recorded (a schedule); never for fastai's ``Adam`` (its change is not lr x grad).
    Otherwise ``.grad`` on entry, which is exact."""
    if native and is_adamw(ctx):
        return False
    return scaled or ctx.clip_norm is not None or ctx.schedule != "constant" or ctx.warmup_steps > 0


def amp_mode(ctx: RunContext) -> str | None:
    """``MixedPrecision``'s amp_mode for the run, or None for fp32 (always on the CPU, with a warning)."""
    if ctx.precision == "fp32":
        return None
    if ctx.device != "cuda":
        logger.warning(
            "fastai: precision %s on %s runs in fp32"
            " (fastai's MixedPrecision enables autocast and loss scaling on CUDA only)",
            ctx.precision,
            ctx.device,
        )
        return None
    return ctx.precision


def fit(ctx: RunContext, native: bool) -> None:
    """Builds the Learner for the scenario and runs ``fit(E)``; ``native``: fastai's SGD, else torch's."""
    ctx.set_framework("fastai", fastai.__version__)
    device = torch.device(ctx.device)
    loader = ctx.make_loader()  # once: every epoch draws its own order from the loader's generator
    dls = DataLoaders(TupleBatches(loader, len(loader), device), TupleBatches([], 0, device), device=device)
    mode = amp_mode(ctx)
    cbs: list[Callback] = [EpochTag(ctx), GradientAccumulation(n_acc=ctx.batch_size * ctx.accumulation)]
    cbs += step_callbacks(ctx)  # GradientClip, ParamScheduler (fastai_steps.py)
    recorder: RecordSteps | None = None
    scaled = mode == "fp16"
    if native or scaled:
        recorder = RecordSteps(ctx, by_change=reads_change(ctx, native, scaled))
        cbs.append(recorder)
    if mode is not None:
        cbs.append(MixedPrecision(amp_mode=mode))
    opt_func: Any = native_optimizer(ctx) if native else OptimWrapper(opt=ctx.make_optimizer())
    learn = Learner(dls, FastaiProbe(ctx.model), loss_func=mean_loss, opt_func=opt_func, lr=ctx.learning_rate, cbs=cbs)
    try:
        with learn.no_bar(), learn.no_logging():
            learn.fit(ctx.epochs)
    except BaseException as error:
        if recorder is not None:
            recorder.close(error)  # a step that raised records nothing
        raise


def train(ctx: RunContext) -> None:
    """``fastai``: ``Learner.fit(E)``, ``GradientAccumulation(n_acc=B*K)``, torch SGD through ``OptimWrapper``."""
    fit(ctx, native=False)


def train_native(ctx: RunContext) -> None:
    """``fastai-native``: the same with fastai's own ``SGD`` (no momentum, no weight decay), steps recorded by a callback."""
    fit(ctx, native=True)
