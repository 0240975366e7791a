"""The learning-rate schedules a scenario can ask for, as pure float64 math (reference/schedule.ts).

Over a run's applied optimizer steps s = 0 .. T-1 the learning rate is ``lr * schedule_factor(s)``:
w warm-up steps rise linearly from 0 (``s / w``, as transformers' schedules warm up), then the
schedule runs over the remaining T - w steps. ``linear`` and ``cosine`` equal transformers'
``get_linear_schedule_with_warmup`` and ``get_cosine_schedule_with_warmup``; ``step`` is torch's
``StepLR(step_size=1, gamma=0.9)`` after the warm-up.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

#: The schedules of the scenario's ``schedule`` field.
SCHEDULES = ("constant", "linear", "cosine", "step")

#: The ``step`` schedule's decay per applied step (``StepLR``'s gamma).
STEP_SCHEDULE_GAMMA = 0.9


def schedule_factor(schedule: str, s: int, length: int, warmup: int = 0) -> float:
    """The multiplier of the learning rate at applied step ``s`` (0-based).

    Args:
        schedule: one of :data:`SCHEDULES`.
        s: the applied optimizer steps before this one.
        length: T, the applied steps the schedule spans (:func:`schedule_length`).
        warmup: w, the warm-up steps.

    Returns:
        ``s / w`` while ``s < w``; then 1 (constant), ``max(0, (T - s) / max(1, T - w))`` (linear),
        ``max(0, (1 + cos(pi (s - w) / max(1, T - w))) / 2)`` (cosine) or ``0.9 ** (s - w)`` (step).

    Raises:
        ValueError: for a schedule not in :data:`SCHEDULES`.
    """
    if schedule not in SCHEDULES:
        raise ValueError(f"schedule: expected one of {', '.join(SCHEDULES)}, saw {schedule!r}")
    if s < warmup:
        return s / max(1, warmup)
    span = max(1, length - warmup)
    if schedule == "linear":
        return max(0.0, (length - s) / span)
    if schedule == "cosine":
        return max(0.0, 0.5 * (1.0 + math.cos(math.pi * (s - warmup) / span)))
    if schedule == "step":
        return STEP_SCHEDULE_GAMMA ** (s - warmup)
    return 1.0


def schedule_length(scenario: Mapping[str, Any]) -> int:
    """T, the applied optimizer steps a correct trainer takes, from the scenario alone.

    Replacement sampling: ``steps``. Epoch sampling: E x ceil(M / K), where M = ceil(P / B)
    (floor under dropLast) micro-batches of one rank's P = ceil(N / W) samples, as a padding
    ``DistributedSampler`` gives every rank.
    """
    if scenario.get("sampling", "epochs") == "replacement":
        return int(scenario.get("steps") or 0)
    per_rank = -(-int(scenario["datasetSize"]) // int(scenario["worldSize"]))
    batch = int(scenario["batchSize"])
    micro_batches = per_rank // batch if scenario["dropLast"] else -(-per_rank // batch)
    return int(scenario["epochs"]) * -(-micro_batches // int(scenario["accumulation"]))


def scenario_factor(scenario: Mapping[str, Any], s: int, length: int | None = None) -> float:
    """:func:`schedule_factor` of the scenario's schedule and warm-up at applied step ``s``
    (``length`` defaults to :func:`schedule_length`)."""
    total = schedule_length(scenario) if length is None else length
    return schedule_factor(scenario.get("schedule", "constant"), s, total, int(scenario.get("warmupSteps", 0)))
