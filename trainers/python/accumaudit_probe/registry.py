"""Trainer names the worker can run, resolved lazily so a missing framework breaks only its trainer.

Plain loops are registered here. Framework adapters register themselves from
``accumaudit_probe/adapters/__init__.py`` by calling :func:`register` with ``"module:function"``
targets (strings, so no framework is imported until its trainer runs) and :func:`register_reset`.
A name that is not registered but has the form ``MODULE:FUNCTION`` is imported as a user's own
training function ``def train(ctx: RunContext) -> None``.

Data-parallel support (worldSize > 1) is a fact about a trainer, kept beside it: registered with
``distributed=True``, or a user's function marked with the :func:`distributed` decorator.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .setup_script import setup_command

if TYPE_CHECKING:
    from .context import RunContext

TrainFunction = Callable[["RunContext"], None]


#: The step-semantics fields of a scenario (camelCase), each with its flag.
STEP_FIELDS = {
    "clipNorm": "--clip-norm",
    "schedule": "--schedule",
    "warmupSteps": "--warmup-steps",
    "ema": "--ema",
    "optimizer": "--optimizer",
    "overflowStep": "--overflow-step",
}
ALL_STEP_FIELDS = frozenset(STEP_FIELDS)


@dataclass(frozen=True)
class _Trainer:
    target: str | TrainFunction  # "module:function", imported on first use, or the function
    distributed: bool = False  # runs data-parallel (worldSize > 1)
    #: The step-semantics fields the trainer honours; a scenario setting another is refused.
    step_fields: frozenset[str] = ALL_STEP_FIELDS
    #: Why it does not honour a field, by field (the framework has no such option, say).
    refusals: tuple[tuple[str, str], ...] = ()


_TRAINERS: dict[str, _Trainer] = {
    "docs-loop": _Trainer("accumaudit_probe.loops.docs_loop:train", step_fields=frozenset()),
    "tail-step": _Trainer("accumaudit_probe.loops.tail_step:train", step_fields=frozenset()),
    "two-loop": _Trainer("accumaudit_probe.loops.two_loop:train", step_fields=frozenset()),
    "k-plus-one": _Trainer("accumaudit_probe.loops.k_plus_one:train", step_fields=frozenset()),
    "reference": _Trainer("accumaudit_probe.loops.reference:train"),
    "token-reference": _Trainer("accumaudit_probe.loops.token_reference:train"),
    "replacement-reference": _Trainer("accumaudit_probe.loops.replacement_reference:train"),
    "ddp-docs-loop": _Trainer(
        "accumaudit_probe.loops.ddp_docs_loop:train", distributed=True, step_fields=frozenset()
    ),
    "ddp-tail-step": _Trainer(
        "accumaudit_probe.loops.ddp_tail_step:train", distributed=True, step_fields=frozenset()
    ),
    "ddp-reference": _Trainer("accumaudit_probe.loops.ddp_reference:train", distributed=True),
}
#: The attribute :func:`distributed` sets on a training function.
DISTRIBUTED_MARK = "__accumaudit_distributed__"
_RESETS: list[Callable[[], None]] = []
_adapters_loaded = False
#: Why ``accumaudit_probe.adapters`` could not be imported, if it could not.
adapters_error: str | None = None


class TrainerUnavailable(Exception):
    """A trainer name that does not resolve to a callable training function."""


def register(
    name: str,
    target: str | TrainFunction,
    distributed: bool = False,
    step_fields: frozenset[str] | set[str] = ALL_STEP_FIELDS,
    refusals: dict[str, str] | None = None,
) -> None:
    """Registers a trainer under ``name``: a ``"module:function"`` string (imported on first use) or a callable.

    ``distributed=True`` says the trainer runs data-parallel: the worker starts worldSize rank
    processes and calls it in each (see API.md, "Data-parallel trainers").
    ``step_fields`` lists the step-semantics fields (:data:`STEP_FIELDS`) the trainer honours, each
    through the framework's own option; a scenario that sets another is refused in one line, with
    the reason ``refusals`` gives for it (what the framework lacks).
    """
    unknown = (set(step_fields) | set(refusals or {})) - ALL_STEP_FIELDS
    if unknown:
        raise ValueError(f"register {name}: unknown step-semantics fields {sorted(unknown)}")
    _TRAINERS[name] = _Trainer(target, distributed, frozenset(step_fields), tuple((refusals or {}).items()))


def distributed(train: TrainFunction) -> TrainFunction:
    """Decorator: marks a user's ``train(ctx)`` as data-parallel, so it may run with worldSize > 1."""
    setattr(train, DISTRIBUTED_MARK, True)
    return train


def register_reset(reset: Callable[[], None]) -> None:
    """Registers a function the worker calls before every run to clear state a framework keeps."""
    if reset not in _RESETS:
        _RESETS.append(reset)


def resets() -> list[Callable[[], None]]:
    """The registered reset functions, in registration order."""
    _load_adapters()
    return list(_RESETS)


def names() -> list[str]:
    """Registered trainer names (plain loops first, then adapters)."""
    _load_adapters()
    return list(_TRAINERS)


def is_registered(name: str) -> bool:
    """True for a registered name (not a ``MODULE:FUNCTION`` path)."""
    _load_adapters()
    return name in _TRAINERS


def distributed_names() -> list[str]:
    """Registered trainer names that run data-parallel (worldSize > 1), in registration order."""
    _load_adapters()
    return [name for name, trainer in _TRAINERS.items() if trainer.distributed]


def supports_distributed(name: str) -> bool:
    """True when the trainer may run with worldSize > 1: registered with ``distributed=True``, or its
    function carries the :func:`distributed` mark. Resolves the name (raises TrainerUnavailable)."""
    function = resolve(name)
    registered = _TRAINERS.get(name)
    marked = getattr(function, DISTRIBUTED_MARK, False) is True
    return marked or (registered is not None and registered.distributed)


def resolve(name: str) -> TrainFunction:
    """The training function for a registered name or a ``MODULE:FUNCTION`` path."""
    _load_adapters()
    registered = _TRAINERS.get(name)
    if registered is None and ":" not in name:
        raise TrainerUnavailable(
            f"trainer: expected one of {', '.join(_TRAINERS)} or MODULE:FUNCTION, saw {name!r}"
            + (f" (adapters failed to load: {adapters_error})" if adapters_error else "")
        )
    target = name if registered is None else registered.target
    if callable(target):
        return target
    module_name, _, function_name = target.partition(":")
    try:
        module = importlib.import_module(module_name)
    except Exception as error:  # noqa: BLE001 - any import failure makes this one trainer unavailable
        hint = (
            f"run {setup_command()} to install the frameworks"
            if name in _TRAINERS
            else "put its folder on PYTHONPATH or install it into the worker's interpreter"
        )
        raise TrainerUnavailable(
            f"trainer {name}: cannot import module {module_name} ({type(error).__name__}: {error}); {hint}"
        ) from error
    function = getattr(module, function_name, None)
    if not callable(function):
        raise TrainerUnavailable(f"trainer {name}: expected a function {function_name} in module {module_name}, found none")
    return function


def _load_adapters() -> None:
    global _adapters_loaded, adapters_error
    if _adapters_loaded:
        return
    _adapters_loaded = True
    try:
        importlib.import_module("accumaudit_probe.adapters")
    except ModuleNotFoundError as error:
        if error.name != "accumaudit_probe.adapters":
            adapters_error = f"{type(error).__name__}: {error}"
    except Exception as error:  # noqa: BLE001 - a broken adapter package must not break the plain loops
        adapters_error = f"{type(error).__name__}: {error}"


def step_fields_set(scenario: dict[str, Any]) -> list[str]:
    """The step-semantics fields a scenario sets (anything but off), in :data:`STEP_FIELDS` order."""
    off = {"schedule": "constant", "warmupSteps": 0, "optimizer": "sgd"}
    return [field for field in STEP_FIELDS if scenario.get(field, off.get(field)) not in (None, off.get(field))]


def step_refusal(name: str, scenario: dict[str, Any]) -> str | None:
    """Why the registered trainer ``name`` cannot run the scenario's step semantics, in one line naming
    the first field it does not honour; None when it honours every one set (or is not registered)."""
    trainer = _TRAINERS.get(name)
    if trainer is None:
        return None
    for field in step_fields_set(scenario):
        if field in trainer.step_fields:
            continue
        reason = dict(trainer.refusals).get(
            field,
            "this trainer does not model it (the step semantics of a loop run through python:reference or your own python:MODULE:FUNCTION)",
        )
        return f"trainer {name}: {STEP_FIELDS[field]} {scenario[field]}: {reason}"
    return None


def step_fields_of(name: str) -> list[str]:
    """The step-semantics fields a trainer honours, in :data:`STEP_FIELDS` order: those it was
    registered with, every one for a user's own function (which builds them from the RunContext)."""
    _load_adapters()
    trainer = _TRAINERS.get(name)
    fields = ALL_STEP_FIELDS if trainer is None else trainer.step_fields
    return [field for field in STEP_FIELDS if field in fields]
