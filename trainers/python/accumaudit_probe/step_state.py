"""What the recorder reads around a step call beyond its gradient: the optimizer's own step counter
(the trace's ``steps[].optimizerSteps``) and a moving average of the parameters (``steps[].average``).

An average is watched through a function that returns the averaged tensors in
``model.parameters()`` order (or None while none exists). Each is read as :data:`DIRECTIONS` float64
dot products with fixed pseudo-random directions in [-1, 1] over every probe parameter, fingerprint
first: the EMA recursion is linear, so it holds for each projection. A step call gets ``before``
(the parameters at its start), ``after`` (right after it) and ``value`` (the average as it stands
at the start of the next step call, or at the run's end); a step call whose ``value`` reads None
gets no ``average``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any

import torch

from .probe import ProbeModel

#: Projections of each parameter vector the trace carries.
DIRECTIONS = 2
#: Seed of the directions' generator (the same directions for every run).
DIRECTIONS_SEED = 20210521

#: Returns the averaged tensors in ``model.parameters()`` order, or None while no average exists.
AverageReader = Callable[[], Sequence[torch.Tensor] | None]

#: Wrappers' attributes that hold the optimizer they wrap (Accelerate, Lightning).
_WRAPPED = ("optimizer", "_optimizer")


def optimizer_steps(optimizer: Any, parameters: Iterable[torch.Tensor]) -> int | None:
    """The optimizer's own step counter over ``parameters``: the largest ``state[p]["step"]``; 0 for
    torch's Adam or AdamW before their first step; None for an optimizer that keeps none (plain SGD)."""
    optimizer = _unwrapped(optimizer)
    state = getattr(optimizer, "state", None)
    if not isinstance(state, dict):
        return None
    counts = [float(state[p]["step"]) for p in parameters if p in state and "step" in state[p]]
    if counts:
        return int(max(counts))
    return 0 if isinstance(optimizer, torch.optim.Adam | torch.optim.AdamW) else None


def _unwrapped(optimizer: Any) -> Any:
    """The torch optimizer a wrapper holds (a few levels deep), or ``optimizer`` itself."""
    for _ in range(3):
        if isinstance(optimizer, torch.optim.Optimizer):
            break
        inner = next((getattr(optimizer, a) for a in _WRAPPED if hasattr(optimizer, a)), None)
        if inner is None:
            break
        optimizer = inner
    return optimizer


class AverageWatch:
    """Reads the watched average and the parameters around every step call (see the module)."""

    def __init__(self, model: ProbeModel):
        self.model = model
        self._read: AverageReader | None = None
        self._directions: torch.Tensor | None = None
        self._before: list[float] | None = None
        # The last step call's (step, before, after), waiting for the average's value.
        self._waiting: tuple[dict[str, Any], list[float], list[float]] | None = None

    def watch(self, read: AverageReader) -> None:
        """Watches the average ``read`` returns (it replaces one watched before)."""
        self._read = read

    def started(self) -> None:
        """A step call starts: settles the last call's ``value`` and reads the parameters."""
        if self._read is None:
            return
        self.settle()
        self._before = self._project(self.model.parameters())

    def ended(self, step: dict[str, Any]) -> None:
        """The step call that :meth:`started` last ended as ``step``; its ``average`` comes with
        the next call's start (or :meth:`settle` at the run's end)."""
        if self._read is None or self._before is None:
            return
        self._waiting = (step, self._before, self._project(self.model.parameters()))
        self._before = None

    def settle(self) -> None:
        """Gives the waiting step call its ``average``, the watched average as it stands now."""
        if self._waiting is None or self._read is None:
            return
        step, before, after = self._waiting
        self._waiting = None
        tensors = self._read()
        if tensors is not None:
            step["average"] = {"before": before, "after": after, "value": self._project(tensors)}

    def holds_parameters(self) -> bool:
        """Whether the model's parameters now equal the watched average exactly: a framework that
        copies the average into the model when training ends (Lightning's WeightAveraging does)."""
        if self._read is None:
            return False
        tensors = self._read()
        if tensors is None:
            return False
        averages = [t.detach() for t in tensors]
        parameters = [p.detach() for p in self.model.parameters()]
        return len(averages) == len(parameters) and all(
            a.shape == p.shape and torch.equal(a.to(p.device, p.dtype), p) for a, p in zip(averages, parameters, strict=True)
        )

    def _project(self, tensors: Iterable[torch.Tensor]) -> list[float]:
        flat = torch.cat([t.detach().reshape(-1).to(torch.float64) for t in tensors])
        directions = self._directions_on(flat)
        return (directions @ flat).tolist()

    def _directions_on(self, flat: torch.Tensor) -> torch.Tensor:
        directions = self._directions
        if directions is None or directions.shape[1] != flat.numel():
            generator = torch.Generator().manual_seed(DIRECTIONS_SEED)
            directions = torch.rand(DIRECTIONS, flat.numel(), dtype=torch.float64, generator=generator) * 2 - 1
        self._directions = directions.to(flat.device)
        return self._directions
