"""What each step did to the probe model's parameters, and what changed them outside any step.

The recorder reads a step's gradient; this module reads what the step then did with it. It keeps a
copy of the parameters as the last step left them (the fingerprint on the parameters' device, the
body), so that

- after a step it can give the change θ − θ' of every fingerprint entry the step's gradient lists
  and of the body (the trace's ``steps[].update``): plain SGD moves each by lr·g, an optimizer
  whose step does nothing by 0, a step applied twice by 2·lr·g;
- before a step, and when the run ends, it can tell which parameters changed since the last step
  (the trace's ``outsideSteps``): an in-place edit, or an update applied by hand after
  ``optimizer.step()``.

Cost: below :data:`FULL_READ_BELOW` fingerprint entries every read compares the whole fingerprint.
Above it a plain-SGD step reads only the entries its gradient lists, and the check before a step
only those the previous step moved; the rest is compared once, at the run's end (a change found
there is dated "somewhere since the last full read"). A step of any other rule may move entries
without a gradient (momentum, weight decay): after it the whole copy is refreshed.
"""

from __future__ import annotations

import math
from typing import Any

import torch

from .probe import ProbeModel

#: Fingerprints with fewer entries are compared in full at every read.
FULL_READ_BELOW = 16384


def update_rule(optimizer: Any, model: ProbeModel, probe: frozenset[int] | None = None) -> tuple[str, float | None]:
    """How ``optimizer`` updates the probe's parameters: ``("sgd", lr)`` for plain SGD (torch.optim.SGD
    or a subclass, without momentum, weight decay or maximize, one learning rate, over every one of the
    probe's parameters), else ``("other", lr)``; lr is None when the groups holding the probe disagree on it.
    ``probe``: the ids of the model's parameters, when the caller keeps them."""
    probe = probe if probe is not None else frozenset(id(p) for p in model.parameters())
    groups = [g for g in getattr(optimizer, "param_groups", ()) if any(id(p) in probe for p in g["params"])]
    held = {id(p) for group in groups for p in group["params"]}
    rates = set()
    for group in groups:
        try:
            rates.add(float(group["lr"]))
        except (KeyError, TypeError, ValueError):
            rates.add(None)
    lr = rates.pop() if len(rates) == 1 else None
    plain = (
        isinstance(optimizer, torch.optim.SGD)
        and lr is not None
        and probe <= held
        and all(
            not group.get("momentum", 0) and not group.get("weight_decay", 0) and not group.get("maximize", False)
            for group in groups
        )
    )
    return ("sgd" if plain else "other"), lr


def _differs(before: torch.Tensor, after: torch.Tensor) -> torch.Tensor:
    """Where two tensors of one shape hold different values (NaN equals NaN, -0.0 equals 0.0)."""
    return (before != after) & ~(before.isnan() & after.isnan())


def _change(before: torch.Tensor, after: torch.Tensor) -> list[float]:
    """θ − θ' in float64 (Python floats), exact for the parameters' own float types."""
    return [b - a for b, a in zip(before.tolist(), after.tolist(), strict=True)]


def _same(before: torch.Tensor, after: torch.Tensor) -> bool:
    """Whether two tensors of one shape hold the same values (one comparison when they do; NaN equals NaN)."""
    return torch.equal(before, after) or not bool(_differs(before, after).any())


class UpdateReader:
    """Reads what steps and anything else did to one probe model's parameters (see the module)."""

    def __init__(self, model: ProbeModel):
        self.model = model
        fingerprint = model.fingerprint.detach()
        self._full = fingerprint.numel() < FULL_READ_BELOW
        self._fingerprint = fingerprint.clone()
        self._body = [p.detach().clone() for p in model.body_parameters()]
        #: Flat fingerprint indices the last step moved (where a large fingerprint is checked between steps).
        self._moved = torch.empty(0, dtype=torch.int64, device=fingerprint.device)
        #: Step calls when the whole fingerprint was last known as the copy holds it.
        self._read_in_full_at = 0
        #: Changes outside any step call, in the order seen (the trace's ``outsideSteps``, without ranks).
        self.outside: list[dict[str, Any]] = []
        self._probe = frozenset(id(p) for p in model.parameters())

    def rule(self, optimizer: Any) -> tuple[str, float | None]:
        """:func:`update_rule` of ``optimizer`` over this model."""
        return update_rule(optimizer, self.model, self._probe)

    # -- the copy -------------------------------------------------------------------------------

    def _copy(self) -> torch.Tensor:
        """The fingerprint copy on the parameter's device and in its dtype (a framework that moved or
        cast the model: the copy is cast the same way, so the cast alone is no change)."""
        now = self.model.fingerprint
        if self._fingerprint.device != now.device or self._fingerprint.dtype != now.dtype:
            self._fingerprint = self._fingerprint.to(now.device, now.dtype)
        if self._moved.device != now.device:
            self._moved = self._moved.to(now.device)
        return self._fingerprint

    def _body_copies(self) -> list[torch.Tensor]:
        parameters = self.model.body_parameters()
        self._body = [
            copy if copy.device == p.device and copy.dtype == p.dtype else copy.to(p.device, p.dtype)
            for copy, p in zip(self._body, parameters, strict=True)
        ]
        return self._body

    def _body_change(self, only_if_changed: bool = False) -> list[float] | None:
        """θ − θ' of the body since the copy, and the copy brought up to date; None without a body
        (and, with ``only_if_changed``, when no body parameter changed)."""
        parameters = [p.detach() for p in self.model.body_parameters()]
        if not parameters:
            return None
        copies = self._body_copies()
        if only_if_changed and all(_same(c, p) for c, p in zip(copies, parameters, strict=True)):
            return None
        change = _change(torch.cat([c.reshape(-1) for c in copies]), torch.cat([p.reshape(-1) for p in parameters]))
        self._body = [p.clone() for p in parameters]
        return change

    # -- changes outside the steps --------------------------------------------------------------

    @property
    def sparse(self) -> bool:
        """Whether the fingerprint is read sparsely (it has :data:`FULL_READ_BELOW` entries or more)."""
        return not self._full

    def check_outside(self, step_calls: int, end: bool = False, candidates: torch.Tensor | None = None) -> None:
        """Records what changed since the last step (or the start): at a step call's start, and with
        ``end`` when the run ends. A large fingerprint is read where the last step moved it (what
        changed there changed since that step), at ``candidates`` (flat indices the next step's
        gradient may touch: what changed there is dated since the last full read) and in full only
        at the end."""
        copy = self._copy().reshape(-1)
        now = self.model.fingerprint.detach().reshape(-1)
        body = self._body_change(only_if_changed=True)
        if self._full:
            self._read_in_full_at = step_calls
            if body is None and torch.equal(copy, now):  # the usual case, in one comparison
                return
            index = torch.nonzero(_differs(copy, now), as_tuple=True)[0]
            self._record_outside(step_calls, step_calls, index, copy, now, body)
            return
        watched = self._moved
        if candidates is not None and candidates.numel() > 0:
            watched = torch.cat([watched, candidates.to(now.device)])
        if not _same(copy[watched], now[watched]):  # rare: which changed, and since when
            index = self._moved[_differs(copy[self._moved], now[self._moved])]
            self._record_outside(step_calls, step_calls, index, copy, now, body)
            body = None
            others = torch.unique(watched[len(self._moved) :])
            others = others[~torch.isin(others, self._moved)]
            found = others[_differs(copy[others], now[others])]
            self._record_outside(self._read_in_full_at, step_calls, found, copy, now, None)
        self._record_outside(step_calls, step_calls, watched[:0], copy, now, body)
        if end:
            rest = torch.nonzero(_differs(copy, now), as_tuple=True)[0]
            self._record_outside(self._read_in_full_at, step_calls, rest, copy, now, None)
            self._read_in_full_at = step_calls

    def _record_outside(
        self,
        since: int,
        steps_before: int,
        index: torch.Tensor,
        copy: torch.Tensor,
        now: torch.Tensor,
        body: list[float] | None,
    ) -> None:
        body = None if body is None or not any(body) else body
        if index.numel() == 0 and body is None:
            return
        after = now[index]
        changes = _change(copy[index], after)
        copy.index_copy_(0, index, after)
        n = self.model.dataset_size
        flat = index.cpu()
        self.outside.append(
            {
                "since": since,
                "stepsBefore": steps_before,
                "fingerprint": {"epochs": (flat // n).tolist(), "samples": (flat % n).tolist(), "changes": changes},
                "body": body,
            }
        )

    # -- what a step did ------------------------------------------------------------------------

    def step_update(self, index: torch.Tensor, rule: str, learning_rate: float | None, step_calls: int) -> dict[str, Any]:
        """The trace's ``update`` of the step that just ended, whose gradient listed the flat fingerprint
        entries ``index`` (its ``fingerprint`` entries, in order); the copy then holds what it left.
        ``step_calls`` counts that step."""
        copy = self._copy().reshape(-1)
        now = self.model.fingerprint.detach().reshape(-1)
        index = index.to(now.device)
        after = now[index]
        changes = _change(copy[index], after)
        copy.index_copy_(0, index, after)
        moved_without_gradient = 0
        if self._full or rule != "sgd":  # read in full: what moved beyond the gradient's entries
            if not torch.equal(copy, now):
                moved_without_gradient = int(_differs(copy, now).sum())
                copy.copy_(now)
            self._read_in_full_at = step_calls
        self._moved = index
        update: dict[str, Any] = {
            "rule": rule,
            "fingerprint": changes,
            "body": self._body_change(),
            "movedWithoutGradient": moved_without_gradient,
        }
        if learning_rate is not None and math.isfinite(learning_rate) and learning_rate >= 0:
            update["learningRate"] = learning_rate
        return update

    def accept_current(self) -> None:
        """Takes every parameter as it is now as known, recording no change: the run's end, when the
        model's parameters became the watched average (see Recorder.__exit__)."""
        self._copy().copy_(self.model.fingerprint.detach())
        self._body = [p.detach().clone() for p in self.model.body_parameters()]
        self._moved = self._moved[:0]

    def absorb_body(self) -> None:
        """Takes the body as it is now as known: an optimizer that holds body parameters but not the
        fingerprint (so the recorder records no step of it) stepped them."""
        self._body_change()
