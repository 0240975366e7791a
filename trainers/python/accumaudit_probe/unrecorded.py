"""Updates the recorder could not see: the probe model changed, yet no optimizer step was recorded.

The recorder sees steps through torch's optimizer step hooks. An optimizer outside torch.optim
(fastai's, a hand-written ``p.data -= lr * p.grad``) trains the model unseen, and the audit would
then call every sample never applied. A run therefore compares the model's parameters at its end
with those at its start: when they changed and no step call was seen, the run fails with a
sentence that says how to record such updates (``RunContext.record_step``).
"""

from __future__ import annotations

import torch
from torch import nn


class UnrecordedUpdate(Exception):
    """The trainer changed the probe model's parameters without any optimizer step the recorder saw."""


class ParameterSnapshot:
    """A copy of a model's parameters, by name, to tell later which of them changed."""

    def __init__(self, model: nn.Module):
        self._values = {name: p.detach().to("cpu", copy=True) for name, p in model.named_parameters()}

    def changed(self, model: nn.Module) -> list[str]:
        """Names of the parameters whose values (or shapes) differ now, in the model's order."""
        changed = []
        for name, p in model.named_parameters():
            before = self._values.get(name)
            now = p.detach().to("cpu", before.dtype if before is not None else None)
            if before is None or before.shape != now.shape or not torch.equal(before, now):
                changed.append(name)
        return changed


def check_updates_recorded(trainer: str, snapshot: ParameterSnapshot, model: nn.Module, step_calls: int) -> None:
    """Raises :class:`UnrecordedUpdate` when ``model`` changed since ``snapshot`` while no step call was seen."""
    if step_calls > 0:
        return
    changed = snapshot.changed(model)
    if changed:
        raise UnrecordedUpdate(
            f"trainer {trainer}: the probe model's parameters ({', '.join(changed)}) changed"
            " but no torch.optim step was seen; record each update with ctx.record_step()"
            ' (see API.md, "Optimizers outside torch.optim")'
        )
