"""Keras 3 on the torch backend: ``model.fit`` with ``SGD(gradient_accumulation_steps=K)``.

How Keras is used, as a Keras user writes it: the probe module wrapped in
``keras.layers.TorchModuleWrapper`` (which hands its torch parameters to Keras as Keras variables,
the same tensors), a small ``keras.Model`` around it, ``compile(optimizer=keras.optimizers.SGD(
learning_rate=lr, gradient_accumulation_steps=K), loss=...)`` and ``fit`` on the scenario's torch
``DataLoader`` (batch_size=B, drop_last and the seeded shuffle from ``ctx.make_loader``), with
``epochs=E``, ``shuffle=False`` (the loader shuffles) and ``verbose=0``. K = 1 passes
``gradient_accumulation_steps=None``: Keras refuses anything below 2. A callback's
``on_epoch_begin`` sets the epoch tag. The backend is chosen by ``KERAS_BACKEND=torch``, set here
before Keras is first imported; a Keras already imported with another backend is an error.

What Keras does (keras 3.15.1; paths under ``keras/src``):

- ``optimizers/base_optimizer.py`` ``_backend_apply_gradients``: ``optimizer.apply`` runs after every
  micro-batch; with accumulation it steps when ``(self._iterations + 1) % K == 0`` and otherwise adds
  the micro-batch's gradient to its accumulators; a step applies ``(g + accumulated) / K``. The
  gradient of a micro-batch is that of its mean loss, so a sample weighs 1 / (K * |its micro-batch|).
- ``_iterations`` counts every ``apply`` since the optimizer was made: ``fit`` never resets it, nor
  the accumulators, at an epoch boundary. So windows run across epochs: an epoch whose micro-batch
  count is not a multiple of K hands its last micro-batches to a step of the next epoch, and after
  the last epoch they stay in the accumulators, never applied (``fit`` ends with
  ``finalize_variable_values``, which only swaps in EMA weights).
- ``backend/torch/trainer.py`` ``train_step``: ``zero_grad``, ``loss.backward()``, then
  ``optimizer.apply([v.value.grad ...])`` under ``torch.no_grad``; the torch SGD
  (``backend/torch/optimizers/torch_sgd.py``) updates ``v.value`` (the probe's own parameters, in
  place) with ``torch._foreach_add_``: no ``torch.optim`` optimizer is involved.
- ``fit`` takes one batch from the loader to build the model symbolically (``_symbolic_build``, under
  ``torch.no_grad``: no micro-batch) and starts a fresh iterator every epoch, so with a shuffle seed
  the epochs' orders are later draws of the loader's generator than a plain loop's; the trace reads
  the order Keras really used from the forward passes.

Bends, and why (a Keras user auditing their own code does the same):

1. The applied gradient is handed to the recorder from inside Keras' update. Keras' optimizer is not
   a ``torch.optim`` optimizer, so the recorder's hooks never fire (the run would end with "changed
   but no torch.optim step was seen"). Keras decides in ``_backend_apply_gradients`` whether a call
   steps and then calls ``_backend_update_step(grads, variables, lr)`` only when it does, with the
   gradients it is about to apply (averaged, clipped). The adapter wraps that method on the optimizer
   instance: it puts those gradients into the parameters' ``.grad`` and runs Keras' update inside
   ``ctx.record_step()``, which records ``.grad`` on entry; the parameters' previous ``.grad`` (the
   last micro-batch's) is put back afterwards, and Keras zeroes it before the next backward anyway.
   This records exactly what Keras applies, with no loss of precision, and leaves the decision of
   when to step to Keras. ``record_step(learning_rate=lr)`` around the same method (the change over
   the update divided by lr) would do too, to about 1e-7 x |parameter| / lr.
2. The loss. The probe computes each sample's loss itself (body loss plus its fingerprint), so the
   Keras model outputs the per-sample losses (``per_sample_loss(x, y, ids)`` of the wrapped module)
   and the compiled loss passes them through (``y_pred``); Keras' default reduction
   (``"sum_over_batch_size"``) takes their mean over the micro-batch, exactly the probe's ``.loss``.
   Under token weighting the output is every loss token's loss (``loss_terms``), so the mean is
   the micro-batch's token mean; a micro-batch without loss tokens outputs one zero loss (Keras
   returns an empty loss unreduced, which backward cannot start from).
   The loader's batches become ``(inputs, y)`` (a ``collate_fn``), the shape ``fit`` expects from a
   DataLoader; the labels are among the inputs too, since the probe's loss needs them.
3. Precision: Keras' mixed precision on the torch backend only casts Keras variables read inside a
   Keras layer; it runs no ``torch.autocast`` and cannot reach into a wrapped torch module, so a
   ``mixed_float16``/``mixed_bfloat16`` policy would leave the probe in fp32 (and add a loss-scale
   optimizer around a run that needs none). fp16 and bf16 scenarios run in fp32, with a warning, and
   the trace says so (the probe model sees the fp32 forward passes).

Step semantics, through the optimizer's own arguments as Keras documents them
(:func:`make_optimizer`):

- ``--clip-norm C``: ``global_clipnorm=C``. Keras clips in ``_backend_apply_gradients``'s
  ``_update_step_fn``, once per applied step, the window's averaged gradient ``(g + acc) / K``.
- ``--schedule``/``--warmup-steps``: ``learning_rate=`` a ``LearningRateSchedule`` subclass
  (:class:`ScenarioSchedule`) returning ``lr * schedule_factor(step)`` (schedule.py) of the step
  Keras passes it. Keras passes ``_iterations`` (``_get_current_learning_rate``): every ``apply``,
  i.e. micro-batches, not applied steps (its docstring: "Learning rate schedules will look at
  'real' iterations value").
- ``--ema DECAY``: ``use_ema=True, ema_momentum=DECAY``. The average lives in the optimizer's
  ``_model_variables_moving_average`` (made at its first ``apply``); it is registered with
  ``ctx.watch_average`` in ``model.parameters()`` order. ``fit`` ends with
  ``finalize_variable_values``, which copies the average into the weights (an update outside any
  step, which the trace shows).
- ``--optimizer adamw``: ``keras.optimizers.AdamW(weight_decay=0.01, beta_1=0.9, beta_2=0.999,
  epsilon=1e-8)`` (Keras' default epsilon is 1e-7). Its step count is ``optimizer.iterations``
  (``_iterations // K``), a Keras variable, given to ``ctx.record_step(optimizer_steps=...)``.
- ``--precision fp16 --overflow-step S``: runs in fp32 (bend 3): no loss scaling, nothing skipped.

The learning rate a step used reaches the trace through ``record_step(rate=lr)``: recorded as it
is, the gradient still read from ``.grad``.

Keras keeps process-wide state (layer-name counters, the dtype policy, the device scope, seed
generators); the worker runs many scenarios, so every run starts and ends with
``keras.backend.clear_session(free_memory=False)`` (no ``gc.collect``, which would cost every run
a walk over Keras' modules).
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Callable, Sequence
from typing import Any

import torch

from ..context import ADAMW_WEIGHT_DECAY, RunContext
from ..probe import collate
from ..schedule import scenario_factor

logger = logging.getLogger(__name__)

BACKEND = "torch"


def import_keras() -> Any:
    """Imports Keras on the torch backend: KERAS_BACKEND=torch before the first import.

    Raises RuntimeError when Keras was already imported with another backend (the backend is fixed
    at Keras' first import and cannot change in the same process).
    """
    if "keras" not in sys.modules:
        os.environ["KERAS_BACKEND"] = BACKEND
    import keras

    backend = keras.backend.backend()
    if backend != BACKEND:
        raise RuntimeError(
            f"keras: expected the {BACKEND} backend, saw {backend!r}: Keras was imported with"
            f" KERAS_BACKEND={os.environ.get('KERAS_BACKEND', '(unset)')} before this adapter ran;"
            f" set KERAS_BACKEND={BACKEND} in the environment of the accumaudit command"
        )
    return keras


keras = import_keras()


def keras_batch(samples: Sequence[dict[str, torch.Tensor]]) -> tuple[dict[str, torch.Tensor], torch.Tensor]:
    """A DataLoader batch as ``fit`` takes it: ``(inputs, targets)``; the inputs carry x, y and ids
    (token sequences padded to the longest, as :func:`probe.collate` pads them)."""
    batch = collate(samples)
    return batch, batch["y"]


def passthrough_loss(y_true: Any, y_pred: Any) -> Any:
    """The Keras loss: the model's output is already every sample's loss; Keras averages it."""
    return y_pred


class ProbeKerasModel(keras.Model):
    """The probe module as a Keras model whose output is the micro-batch's per-sample losses
    (per-token losses under token weighting: ``ProbeModel.loss_terms``)."""

    def __init__(self, probe: torch.nn.Module, **kwargs: Any):
        super().__init__(**kwargs)
        self.probe = keras.layers.TorchModuleWrapper(probe)

    def call(self, inputs: dict[str, torch.Tensor]) -> torch.Tensor:
        losses = self.probe.module.loss_terms(inputs["x"], inputs["y"], inputs["ids"])
        # Keras hands an empty loss back unreduced (a micro-batch without loss tokens), and backward
        # needs a scalar: one zero loss instead, whose gradient is zero everywhere.
        return losses if losses.numel() > 0 else losses.sum().reshape(1)


class EpochTag(keras.callbacks.Callback):
    """Sets the probe's epoch tag at every epoch start."""

    def __init__(self, ctx: RunContext):
        super().__init__()
        self.ctx = ctx

    def on_epoch_begin(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        self.ctx.set_epoch(epoch)


class ScenarioSchedule(keras.optimizers.schedules.LearningRateSchedule):
    """The scenario's learning-rate schedule as a Keras ``LearningRateSchedule``: at the step Keras
    passes, ``lr * schedule_factor(step)`` (schedule.py: warm-up, then linear/cosine/step/constant)."""

    def __init__(self, scenario: dict[str, Any], learning_rate: float, length: int):
        self.scenario, self.learning_rate, self.length = scenario, learning_rate, length

    def __call__(self, step: Any) -> float:
        return self.learning_rate * scenario_factor(self.scenario, int(keras.ops.convert_to_tensor(step)), self.length)

    def get_config(self) -> dict[str, Any]:
        return {"scenario": self.scenario, "learning_rate": self.learning_rate, "length": self.length}


def make_optimizer(ctx: RunContext) -> Any:
    """The scenario's Keras optimizer: ``SGD`` or ``AdamW`` with ``gradient_accumulation_steps=K``,
    ``global_clipnorm``, a :class:`ScenarioSchedule` and ``use_ema``/``ema_momentum`` as it asks."""
    scheduled = ctx.schedule != "constant" or ctx.warmup_steps > 0
    rate = ScenarioSchedule(ctx.scenario, ctx.learning_rate, ctx.schedule_length) if scheduled else ctx.learning_rate
    options: dict[str, Any] = {
        "learning_rate": rate,
        "gradient_accumulation_steps": ctx.accumulation if ctx.accumulation > 1 else None,
        "global_clipnorm": ctx.clip_norm,
    }
    if ctx.ema_decay is not None:
        options.update(use_ema=True, ema_momentum=ctx.ema_decay)
    if ctx.scenario.get("optimizer", "sgd") == "adamw":
        return keras.optimizers.AdamW(
            weight_decay=ADAMW_WEIGHT_DECAY, beta_1=0.9, beta_2=0.999, epsilon=1e-8, **options
        )
    return keras.optimizers.SGD(**options)


def watch_average(optimizer: Any, ctx: RunContext) -> None:
    """Registers the optimizer's EMA (``_model_variables_moving_average``, one per trainable
    variable, made at its first ``apply``) with the recorder, in ``model.parameters()`` order."""

    def read() -> list[torch.Tensor] | None:
        averages = getattr(optimizer, "_model_variables_moving_average", None)
        if not averages:
            return None
        position = {id(variable.value): index for index, variable in enumerate(optimizer._trainable_variables)}
        return [averages[position[id(parameter)]].value for parameter in ctx.model.parameters()]

    ctx.watch_average(read)


def record_updates(optimizer: Any, ctx: RunContext) -> None:
    """Records each update Keras' optimizer applies as one step, with the gradient it applies.

    Keras calls ``_backend_update_step(grads, variables, learning_rate)`` only when it steps (every
    K-th ``apply`` with accumulation), with the gradients it applies; they are put into the
    parameters' ``.grad`` for ``ctx.record_step()`` to read, and the previous ``.grad`` restored after.
    Every step is recorded with the rate Keras passed (``record_step(rate=lr)``), so the trace has
    the rate it used, and under AdamW with Keras' step count (``iterations`` + 1 during the update).
    AdamW's weight decay (``_apply_weight_decay``, which ``_backend_apply_gradients`` calls right
    before ``_backend_update_step``, at the same learning rate) runs inside the recorded step, as
    part of the update it belongs to.
    """
    update: Callable[..., Any] = optimizer._backend_update_step
    decay: Callable[..., Any] = optimizer._apply_weight_decay
    decayed: list[Any] = []  # the variables of the weight decay Keras called for the coming update
    counts_steps = ctx.scenario.get("optimizer", "sgd") == "adamw"

    def deferred_decay(variables: list[Any]) -> None:
        decayed[:] = [variables]

    def recorded_update(grads: list[Any], variables: list[Any], learning_rate: Any) -> Any:
        parameters = [variable.value for variable in variables]
        previous = [parameter.grad for parameter in parameters]
        for parameter, grad in zip(parameters, grads, strict=True):
            parameter.grad = None if grad is None else grad.detach().to(parameter.dtype)
        # Keras' `iterations` (its _iterations // K) is the applied steps before this one.
        counted = int(optimizer.iterations) + 1 if counts_steps else None
        try:
            with ctx.record_step(rate=float(learning_rate), optimizer_steps=counted):
                if decayed:  # AdamW's decoupled decay, which Keras runs right before the update
                    decay(decayed.pop())
                return update(grads, variables, learning_rate)
        finally:
            for parameter, grad in zip(parameters, previous, strict=True):
                parameter.grad = grad

    optimizer._backend_update_step = recorded_update
    optimizer._apply_weight_decay = deferred_decay


def warn_if_mixed_precision(ctx: RunContext) -> None:
    """Warns that fp16/bf16 run in fp32: Keras' mixed precision does not reach a wrapped torch module
    (see the module docstring)."""
    if ctx.precision != "fp32":
        logger.warning(
            "keras: precision %s runs in fp32 (Keras mixed precision on the torch backend casts Keras"
            " variables only, not a wrapped torch module)",
            ctx.precision,
        )


def train(ctx: RunContext) -> None:
    """``keras``: ``model.fit`` on the scenario's loader with ``SGD(gradient_accumulation_steps=K)``
    (``AdamW`` under ``--optimizer adamw``) and the scenario's step semantics (:func:`make_optimizer`)."""
    ctx.set_framework("keras", keras.__version__)
    warn_if_mixed_precision(ctx)
    keras.backend.clear_session(free_memory=False)
    try:
        with keras.device(ctx.device):
            model = ProbeKerasModel(ctx.model)
            optimizer = make_optimizer(ctx)
            record_updates(optimizer, ctx)
            if ctx.ema_decay is not None:
                watch_average(optimizer, ctx)
            model.compile(optimizer=optimizer, loss=passthrough_loss)
            model.fit(
                ctx.make_loader(collate_fn=keras_batch),
                epochs=ctx.epochs,
                shuffle=False,
                verbose=0,
                callbacks=[EpochTag(ctx)],
            )
    finally:
        keras.backend.clear_session(free_memory=False)
