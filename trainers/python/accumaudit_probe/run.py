"""Runs one trainer on one scenario from a clean start and returns the trace."""

from __future__ import annotations

import random
from typing import Any

import torch

from . import registry
from .context import RunContext
from .probe import ProbeDataset, ProbeModel
from .recorder import Recorder

SCENARIO_KEYS = (
    "datasetSize",
    "batchSize",
    "accumulation",
    "dropLast",
    "shuffle",
    "epochs",
    "precision",
    "model",
    "dataSeed",
    "learningRate",
)


class RunError(Exception):
    """A run request that cannot be carried out (bad request, unavailable device or trainer)."""


def clean_start(seed: int) -> None:
    """Seeds every generator a trainer may draw from and runs the registered reset functions."""
    random.seed(seed)
    torch.manual_seed(seed)
    try:
        import numpy

        numpy.random.seed(seed)
    except ImportError:
        pass
    for reset in registry.resets():
        reset()


def check_scenario(scenario: Any) -> dict[str, Any]:
    """The scenario with every field present (the harness sends validated scenarios, defaults filled)."""
    if not isinstance(scenario, dict):
        raise RunError(f"scenario: expected an object, saw {type(scenario).__name__}")
    missing = [key for key in SCENARIO_KEYS if key not in scenario]
    if missing:
        raise RunError(f"scenario: expected fields {', '.join(missing)} (validated, defaults filled), saw none")
    return scenario


def run_scenario(
    trainer: str,
    scenario: dict[str, Any],
    features: list[list[float]],
    labels: list[float],
    initial_parameters: list[float],
    device: str = "cpu",
    record: bool = True,
) -> dict[str, Any]:
    """Trains ``trainer`` on the scenario and returns its trace (plain floats, possibly non-finite)."""
    scenario = check_scenario(scenario)
    if device not in ("cpu", "cuda"):
        raise RunError(f"device: expected cpu or cuda, saw {device!r}")
    if device == "cuda" and not torch.cuda.is_available():
        raise RunError("device: expected a CUDA device, saw none (torch.cuda.is_available() is False)")
    if len(labels) != scenario["datasetSize"]:
        raise RunError(f"dataset: expected {scenario['datasetSize']} samples (scenario.datasetSize), saw {len(labels)}")
    train = registry.resolve(trainer)
    clean_start(int(scenario["dataSeed"]))
    dataset = ProbeDataset(features, labels)
    model = ProbeModel(scenario, initial_parameters).to(device)
    context = RunContext(scenario, dataset, model, device)
    with Recorder(model, record=record) as recorder:
        train(context)
    info: dict[str, Any] = {"name": f"python:{trainer}", **context.framework, "backend": "torch", "device": device}
    return recorder.trace(scenario, info)
