"""Runs one trainer on one scenario from a clean start and returns the trace."""

from __future__ import annotations

import json
import random
from functools import cache
from importlib import resources
from typing import Any

import torch
from jsonschema import Draft202012Validator

from . import registry
from .context import RunContext
from .probe import ProbeDataset, ProbeModel
from .recorder import Recorder



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


@cache
def scenario_validator() -> Draft202012Validator:
    """A validator for the scenario's JSON Schema, which the harness derives from its own schema
    (``npm run schema`` writes scenario.schema.json beside this module)."""
    schema = json.loads(resources.files(__package__).joinpath("scenario.schema.json").read_text("utf-8"))
    return Draft202012Validator(schema)


def check_scenario(scenario: Any) -> dict[str, Any]:
    """The scenario, checked against the harness's schema: every field present (the harness sends
    validated scenarios, defaults filled), of its type and within its bounds. Raises RunError with
    one line naming the first bad field."""
    errors = sorted(scenario_validator().iter_errors(scenario), key=lambda e: list(e.absolute_path))
    if errors:
        first = errors[0]
        field = ".".join(str(part) for part in first.absolute_path)
        raise RunError(f"scenario{'.' + field if field else ''}: {first.message}")
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
    if int(scenario["worldSize"]) != 1:
        raise RunError(f"trainer {trainer}: world size {scenario['worldSize']}: expected 1 (this worker runs one process)")
    clean_start(int(scenario["dataSeed"]))
    dataset = ProbeDataset(features, labels)
    model = ProbeModel(scenario, initial_parameters).to(device)
    context = RunContext(scenario, dataset, model, device)
    with Recorder(model, record=record) as recorder:
        train(context)
    info: dict[str, Any] = {"name": f"python:{trainer}", **context.framework, "backend": "torch", "device": device}
    return recorder.trace(scenario, info)
