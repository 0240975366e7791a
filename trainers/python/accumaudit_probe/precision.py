"""The precision a run really trained in, as the probe model saw it, and how the trace records it.

Every forward pass that builds a graph tells the recorder the precision it computed in
(:func:`computed_precision` of the fingerprint entries it gathered): fp16 or bf16 when
``torch.autocast`` on the device type of the probe's parameters casts to that dtype, or when the
parameters themselves have it (a framework cast the model: ``.half()``, ``.bfloat16()``, a sharding
engine's compute dtype; the fingerprint is one of the parameters and is cast with them); otherwise
fp32 (float64 included). Autocast enabled on another device type casts none of the probe's tensors,
so it does not count. Autocast counts whether or not an operation of the body was cast (the
fingerprint-only model has none): it is what the trainer ran.

A run ran the lowest precision any of its forward passes ran (bf16 below fp16 below fp32: the
order of :data:`PRECISIONS`, from the tightest tolerance to the loosest), so that no forward pass is
held to a tolerance tighter than its own rounding; when its forward passes ran in more than one
precision, the trace lists them all. A GradScaler changes no precision: a loss scaled without
autocast is an fp32 run, and its steps carry ``lossScale`` as every scaled step does.

``RunContext.set_effective_precision`` is the trainer's statement. The observation wins: a statement
that disagrees with what the forward passes ran is logged as a warning and left out; it holds only
when the probe saw no forward pass that builds a graph.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any

import torch

logger = logging.getLogger(__name__)

#: The precisions a scenario may ask for, from the highest to the lowest (scenario.ts PRECISIONS).
PRECISIONS = ("fp32", "fp16", "bf16")
_RANK = {precision: rank for rank, precision in enumerate(PRECISIONS)}
_LOWER = {torch.float16: "fp16", torch.bfloat16: "bf16"}

#: The key of a rank's part (``run.run_rank``) that holds what its probe saw, for :func:`precision_fields`.
SEEN_KEY = "precisionSeen"


def precision_of(dtype: torch.dtype) -> str:
    """The precision a floating dtype computes in: fp16, bf16, or fp32 for any other (float32, float64)."""
    return _LOWER.get(dtype, "fp32")


def autocast_dtype(device_type: str) -> torch.dtype | None:
    """The dtype autocast casts to on ``device_type`` now, or None when it is off there."""
    try:
        if not torch.is_autocast_enabled(device_type):
            return None
        return torch.get_autocast_dtype(device_type)
    except TypeError:  # torch < 2.4: one function per device type
        if device_type == "cpu" and torch.is_autocast_cpu_enabled():
            return torch.get_autocast_cpu_dtype()
        if device_type == "cuda" and torch.is_autocast_enabled():
            return torch.get_autocast_gpu_dtype()
        return None
    except RuntimeError:  # a device type autocast does not know (meta)
        return None


def lowest(precisions: Iterable[str]) -> str:
    """The lowest of some precisions (fp32 when there are none)."""
    return max(precisions, key=_RANK.__getitem__, default="fp32")


def computed_precision(tensor: torch.Tensor) -> str:
    """The precision an operation on ``tensor`` computes in now: its dtype's or, when autocast is on
    for its device type and casts lower, autocast's."""
    here = precision_of(tensor.dtype)
    cast = autocast_dtype(tensor.device.type)
    return here if cast is None else lowest((here, precision_of(cast)))


def in_order(precisions: Iterable[str]) -> list[str]:
    """Distinct precisions, the lowest first."""
    return sorted(set(precisions), key=_RANK.__getitem__, reverse=True)


def precision_fields(asked: str, seen: Iterable[str], stated: str | None = None, trainer: str = "") -> dict[str, Any]:
    """The trainer info's precision fields of a run asked to train in ``asked``: ``precision``, the
    precision that ran, when it is not ``asked``; ``forwardPrecisions``, every precision the forward
    passes ran (lowest first), when they were not all one.

    ``seen`` are the precisions the probe's forward passes ran (every rank's); ``stated`` what the
    trainer said it ran (``set_effective_precision``), which counts only when ``seen`` is empty.
    A statement that disagrees with ``seen`` is logged as a warning naming ``trainer``.
    """
    forwards = in_order(seen)
    ran = forwards[0] if forwards else (stated or asked)
    if forwards and stated is not None and stated != ran:
        logger.warning(
            "%sset_effective_precision(%r) disagrees with the probe model, whose forward passes ran %s:"
            " the trace records %s",
            f"{trainer}: " if trainer else "",
            stated,
            " and ".join(forwards),
            ran,
        )
    fields: dict[str, Any] = {}
    if ran != asked:
        fields["precision"] = ran
    if len(forwards) > 1:
        fields["forwardPrecisions"] = forwards
    return fields
