"""Runs one trainer on one scenario from a clean start and returns the trace.

worldSize 1 runs in this process; worldSize W > 1 runs the same start on W rank processes
(ranks.py) and merges the ranks' traces into one (Trace v2).
"""

from __future__ import annotations

import inspect
import json
import random
from dataclasses import dataclass
from functools import cache
from importlib import resources
from collections.abc import Callable
from typing import Any

import torch
from jsonschema import Draft202012Validator

from . import progress, registry
from .context import RunContext
from .precision import SEEN_KEY, precision_fields
from .probe import IGNORE_INDEX, VOCABULARY, ProbeDataset, ProbeModel, TokenSequences, check_model_weighting
from .ranks import run_ranks
from .recorder import Recorder, merge_rank_traces
from .unrecorded import ParameterSnapshot, check_updates_recorded


class RunError(Exception):
    """A run request that cannot be carried out (bad request, unavailable device or trainer)."""


def clean_start(seed: int) -> None:
    """Seeds every generator a trainer may draw from and runs the registered reset functions."""
    random.seed(seed)
    if torch.cuda.is_available():
        torch.manual_seed(seed)
    else:  # torch.manual_seed would queue a seed for every absent accelerator, with a stack trace each
        torch.default_generator.manual_seed(seed)
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


def max_world_size() -> int:
    """The largest worldSize the scenario schema allows."""
    return int(scenario_validator().schema["properties"]["worldSize"]["maximum"])


@dataclass(frozen=True)
class Case:
    """What every rank of one run starts from."""

    trainer: str
    scenario: dict[str, Any]
    features: list[list[float]] | torch.Tensor
    labels: list[float]
    initial_parameters: list[float]
    device: str
    record: bool
    #: Token weighting: every sample's token sequence (``{"inputIds", "labels"}``); None under sample weighting.
    tokens: TokenSequences | None = None


def run_scenario(
    trainer: str,
    scenario: dict[str, Any],
    features: list[list[float]] | torch.Tensor,
    labels: list[float],
    initial_parameters: list[float],
    device: str = "cpu",
    record: bool = True,
    timeout_s: float | None = None,
    tokens: TokenSequences | None = None,
    report: Callable[[dict[str, Any]], None] | None = None,
) -> dict[str, Any]:
    """Trains ``trainer`` on the scenario and returns its Trace v2 (plain floats, possibly non-finite).

    ``report``, when given, receives where the run stands while it trains (the fields of a
    progress message, progress.py), at most every half second; not after this function returns.

    Under token weighting ``tokens`` holds every sample's token sequence (``{"inputIds", "labels"}``,
    lists of N lists); under sample weighting it is ignored. With worldSize W > 1 the trainer must support it (registry.supports_distributed); it then runs
    on W rank processes, which must end before 90 % of ``timeout_s`` (default 600 s).
    """
    scenario = check_scenario(scenario)
    if device not in ("cpu", "cuda"):
        raise RunError(f"device: expected cpu or cuda, saw {device!r}")
    if device == "cuda" and not torch.cuda.is_available():
        raise RunError("device: expected a CUDA device, saw none (torch.cuda.is_available() is False)")
    if len(labels) != scenario["datasetSize"]:
        raise RunError(f"dataset: expected {scenario['datasetSize']} samples (scenario.datasetSize), saw {len(labels)}")
    try:
        check_model_weighting(scenario)
    except ValueError as error:
        raise RunError(str(error)) from None
    tokens = check_tokens(tokens, int(scenario["datasetSize"])) if scenario["weighting"] == "tokens" else None
    world_size = int(scenario["worldSize"])
    case = Case(trainer, scenario, features, labels, initial_parameters, device, record, tokens)
    if world_size > 1 and not registry.supports_distributed(trainer):
        raise RunError(refusal(trainer, world_size))
    step_refusal = registry.step_refusal(trainer, scenario)
    if step_refusal is not None:
        raise RunError(step_refusal)
    if world_size > 1 and device == "cuda" and torch.cuda.device_count() < world_size:
        raise RunError(
            f"scenario.worldSize: expected at most {torch.cuda.device_count()} on cuda (one GPU per rank), saw {world_size}"
        )
    with progress.reporting(None if report is None else progress.Reporter(report, scenario)):
        if world_size == 1:
            return finished_trace([run_rank(0, 1, case)])
        # CUDA cannot be forked once initialised: its ranks start as fresh interpreters.
        return finished_trace(run_ranks(run_rank, (case,), world_size, timeout_s, spawn=device == "cuda"))


def finished_trace(parts: list[dict[str, Any]]) -> dict[str, Any]:
    """The run's trace from its ranks' parts (``run_rank``), with the precision every rank's probe saw
    in the trainer info (precision.py): ``precision`` when it is not the scenario's, ``forwardPrecisions``
    when the forward passes ran in more than one."""
    trace = merge_rank_traces(parts)
    seen = {precision for part in parts for precision in part[SEEN_KEY]["forwards"]}
    stated = parts[0][SEEN_KEY]["stated"]  # rank 0's, as the trainer info is
    fields = precision_fields(trace["scenario"]["precision"], seen, stated, trace["trainer"]["name"])
    trace["trainer"] = {**trace["trainer"], **fields}
    return trace


def check_tokens(tokens: Any, size: int) -> TokenSequences:
    """The request's token sequences, checked (token weighting): N input-id and label lists of equal
    lengths, ids from 0 to VOCABULARY - 1, labels such ids or IGNORE_INDEX. Raises RunError naming
    the first bad sample."""
    if not isinstance(tokens, dict) or not all(isinstance(tokens.get(k), list) for k in ("inputIds", "labels")):
        raise RunError(
            "dataset.tokens: expected {inputIds, labels}, each a list of every sample's token list, under token weighting"
        )
    input_ids, labels = tokens["inputIds"], tokens["labels"]
    if len(input_ids) != size or len(labels) != size:
        raise RunError(
            f"dataset.tokens: expected {size} sequences (scenario.datasetSize),"
            f" saw {len(input_ids)} input-id and {len(labels)} label lists"
        )
    valid_ids, valid_labels = set(range(VOCABULARY)), {*range(VOCABULARY), IGNORE_INDEX}
    for i, (ids, targets) in enumerate(zip(input_ids, labels, strict=True)):
        if not isinstance(ids, list) or not isinstance(targets, list) or len(ids) != len(targets) or not ids:
            raise RunError(f"dataset.tokens: sample {i}: expected input ids and labels of the same length (at least 1)")
        if not valid_ids.issuperset(ids) or not valid_labels.issuperset(targets):
            raise RunError(
                f"dataset.tokens: sample {i}: expected input ids from 0 to {VOCABULARY - 1}"
                f" and labels among them or {IGNORE_INDEX}"
            )
    return {"inputIds": input_ids, "labels": labels}


def refusal(trainer: str, world_size: int) -> str:
    """Why a single-process trainer cannot run with ``world_size`` ranks, in one line."""
    hint = "" if registry.is_registered(trainer) else " unless marked with @accumaudit_probe.distributed"
    names = ", ".join(registry.distributed_names())
    return (
        f"trainer {trainer}: world size {world_size}: expected 1"
        f" (it runs in one process{hint}; the data-parallel trainers are {names})"
    )


#: What a trainer is, for the errors that find something else.
PLAIN_TRAINER = "a trainer is a plain function train(ctx) that runs the whole training"


def deferred_kind(function: Any) -> str | None:
    """What kind of function ``function`` is when calling it runs none of its body (a generator
    function, an ``async def`` function, an async generator function); None for a plain one."""
    if inspect.isasyncgenfunction(function):
        return "an async generator function"
    if inspect.isgeneratorfunction(function):
        return "a generator function"
    if inspect.iscoroutinefunction(function):
        return "an async function (async def)"
    return None


def refuse_deferred_result(trainer: str, result: Any) -> None:
    """Raises RunError when a trainer's call returned a generator or coroutine, its body not run (a
    callable object whose ``__call__`` is one); closes it first, so that no warning follows."""
    kinds = (
        (inspect.isgenerator, "a generator"),
        (inspect.iscoroutine, "a coroutine"),
        (inspect.isasyncgen, "an async generator"),
    )
    kind = next((name for test, name in kinds if test(result)), None)
    if kind is None:
        return
    if hasattr(result, "close"):
        result.close()  # a coroutine never awaited would warn when collected
    raise RunError(f"python:{trainer} returned {kind} without running it; {PLAIN_TRAINER}")


def run_rank(rank: int, world_size: int, case: Case) -> dict[str, Any]:
    """One rank's run from a clean start: its own context and recorder; returns its part of the trace.

    Raises RunError for a trainer that is no plain function (a generator or ``async def`` function,
    which would return before training) and UnrecordedUpdate when the trainer changed the probe
    model but no optimizer step was seen.
    """
    train = registry.resolve(case.trainer)
    kind = deferred_kind(train)
    if kind is not None:
        raise RunError(f"python:{case.trainer} is {kind}; {PLAIN_TRAINER}")
    scenario = case.scenario
    clean_start(int(scenario["dataSeed"]))
    if case.device == "cuda" and world_size > 1:
        torch.cuda.set_device(rank)
    dataset = ProbeDataset(case.features, case.labels, tokens=case.tokens)
    model = ProbeModel(scenario, case.initial_parameters).to(case.device)
    recorder = Recorder(model, record=case.record, rank=rank)
    context = RunContext(scenario, dataset, model, case.device, rank=rank, recorder=recorder)
    snapshot = ParameterSnapshot(model)
    with recorder:
        refuse_deferred_result(case.trainer, train(context))
    check_updates_recorded(case.trainer, snapshot, model, recorder.step_calls)
    info: dict[str, Any] = {"name": f"python:{case.trainer}", **context.framework, "backend": "torch", "device": case.device}
    part = recorder.trace(scenario, info)
    # What this rank's probe saw and what the trainer said, for finished_trace to decide on.
    part[SEEN_KEY] = {"forwards": sorted(recorder.precisions_seen), "stated": context.stated_precision}
    return part
