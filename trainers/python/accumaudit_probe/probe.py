"""The probe model and its dataset, as trainers/contract/probe.ts specifies them.

The harness sends the dataset and the body's initial parameters; nothing is regenerated here.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import torch
from torch import nn
from torch.nn import functional as F
from torch.utils.data import default_collate

FEATURES = 3
HIDDEN = 4
FINGERPRINT_COEFFICIENT = 1.0

#: Body parameter names per model, in the flattening order of probe.ts.
BODY_PARAMETERS: dict[str, list[tuple[str, tuple[int, ...]]]] = {
    "fingerprint": [],
    "logistic": [("w", (FEATURES,)), ("b", (1,))],
    "mlp": [("w1", (HIDDEN, FEATURES)), ("b1", (HIDDEN,)), ("w2", (HIDDEN,)), ("b2", (1,))],
}


def body_parameter_count(model: str) -> int:
    """Number of body parameters of a probe model kind (probe.ts bodyParameterCount)."""
    shapes = BODY_PARAMETERS.get(model)
    if shapes is None:
        raise ValueError(f"scenario.model: expected one of {', '.join(BODY_PARAMETERS)}, saw {model!r}")
    return sum(int(torch.Size(shape).numel()) for _, shape in shapes)


class ProbeOutput(dict):
    """What :meth:`ProbeModel.forward` returns: a dict with ``"loss"``, also readable as ``.loss``.

    HF Trainer reads ``outputs["loss"]``; Lightning and plain loops read ``.loss`` or ``["loss"]``.
    """

    @property
    def loss(self) -> torch.Tensor:
        return self["loss"]


class ProbeDataset(torch.utils.data.Dataset):
    """The scenario's labelled samples; item i is ``{"x": float32[3], "y": float32, "ids": int64}``."""

    def __init__(self, features: Sequence[Sequence[float]], labels: Sequence[float]):
        if len(features) != len(labels):
            raise ValueError(
                f"dataset: expected as many labels as feature rows, saw {len(labels)} labels and {len(features)} rows"
            )
        self.x = torch.tensor(features, dtype=torch.float32).reshape(len(features), FEATURES)
        self.y = torch.tensor(labels, dtype=torch.float32)
        self.ids = torch.arange(len(labels), dtype=torch.int64)

    def __len__(self) -> int:
        return int(self.y.shape[0])

    def __getitem__(self, index: int) -> dict[str, torch.Tensor]:
        return {"x": self.x[index], "y": self.y[index], "ids": self.ids[index]}

    def __getitems__(self, indices: Sequence[int]) -> list[dict[str, torch.Tensor]]:
        """``[self[i] for i in indices]``, read with one gather per field (torch's DataLoader calls
        this for a micro-batch, then its ``collate_fn``).

        The result is a real list of items equal to ``self[i]``'s, so any ``collate_fn`` works on it
        unchanged; it also carries the gathered micro-batch, which :func:`collate` (the loaders of
        ``RunContext.make_loader``) returns instead of stacking the items again.
        """
        batch = None
        index = _integer_index(indices)
        if index is not None:
            try:
                batch = {"x": self.x[index], "y": self.y[index], "ids": self.ids[index]}
            except (IndexError, RuntimeError):
                pass
        if batch is None:  # not a list of valid integers: item by item, whatever that makes of it
            return [self[i] for i in indices]
        items = ProbeItems(
            {"x": x, "y": y, "ids": ids}
            for x, y, ids in zip(batch["x"].unbind(0), batch["y"].unbind(0), batch["ids"].unbind(0), strict=True)
        )
        items.batch = batch
        return items


_INDEX_DTYPES = (torch.int64, torch.int32, torch.int16, torch.int8)


def _integer_index(indices: Sequence[int]) -> torch.Tensor | None:
    """``indices`` as a 1-D integer tensor, or None when they are not a sequence of integers."""
    try:
        index = torch.as_tensor(indices)
    except (TypeError, ValueError, RuntimeError):
        return None
    return index if index.dim() == 1 and index.dtype in _INDEX_DTYPES else None


class ProbeItems(list):
    """A list of :class:`ProbeDataset` items that also holds them gathered as one micro-batch."""

    batch: dict[str, torch.Tensor] | None = None


def collate(items: Any) -> Any:
    """``default_collate``, without stacking again what :meth:`ProbeDataset.__getitems__` gathered:
    the same dict of ``x`` [B, 3], ``y`` [B] and ``ids`` [B], equal in values, dtypes and shapes."""
    if type(items) is ProbeItems and items.batch is not None and len(items) == items.batch["ids"].shape[0]:
        return dict(items.batch)
    return default_collate(items)


#: Called with (epoch tag, sample ids) at every forward pass that builds a graph.
ForwardObserver = Callable[[int, list[int]], None]


class ProbeModel(nn.Module):
    """Body (none, logistic or MLP) plus one fingerprint parameter per sample per epoch.

    Sample i's loss in epoch e is ``body_loss_i + c * fingerprint[e * N + i]``, where e is
    :attr:`epoch`, the epoch tag the training loop sets at the start of every epoch.
    """

    def __init__(self, scenario: dict[str, Any], initial_parameters: Sequence[float]):
        super().__init__()
        self.kind: str = scenario["model"]
        self.dataset_size: int = int(scenario["datasetSize"])
        self.epochs: int = int(scenario["epochs"])
        self.coefficient = FINGERPRINT_COEFFICIENT
        #: Epoch tag: which row of the fingerprint the next forward passes use.
        self.epoch = 0
        self.observer: ForwardObserver | None = None
        self.fingerprint = nn.Parameter(torch.zeros(self.epochs * self.dataset_size, dtype=torch.float32))
        expected = body_parameter_count(self.kind)
        if len(initial_parameters) != expected:
            raise ValueError(
                f"initialParameters: expected {expected} values for model {self.kind}, saw {len(initial_parameters)}"
            )
        flat = torch.tensor(list(initial_parameters), dtype=torch.float32)
        offset = 0
        for name, shape in BODY_PARAMETERS[self.kind]:
            size = int(torch.Size(shape).numel())
            self.register_parameter(name, nn.Parameter(flat[offset : offset + size].reshape(shape).clone()))
            offset += size

    def body_parameters(self) -> list[nn.Parameter]:
        """Body parameters in the flattening order of probe.ts."""
        return [getattr(self, name) for name, _ in BODY_PARAMETERS[self.kind]]

    def body_loss(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """Per-sample body loss (BCE with logits); zeros for the fingerprint-only model."""
        if self.kind == "fingerprint":
            return torch.zeros(y.shape[0], dtype=torch.float32, device=y.device)
        if self.kind == "logistic":
            z = x @ self.w + self.b
        else:
            h = torch.tanh(x @ self.w1.t() + self.b1)
            z = h @ self.w2 + self.b2
        z = z.float()
        return F.softplus(z) - y.float() * z

    def per_sample_loss(self, x: torch.Tensor, y: torch.Tensor, ids: torch.Tensor) -> torch.Tensor:
        """Loss of every sample of the micro-batch: body loss + c * fingerprint[epoch * N + id]."""
        ids = ids.reshape(-1).long()
        if torch.is_grad_enabled() and self.observer is not None:
            self.observer(self.epoch, ids.tolist())
        phi = self.fingerprint[self.epoch * self.dataset_size + ids]
        return self.body_loss(x, y.reshape(-1)) + self.coefficient * phi

    def forward(
        self,
        x: torch.Tensor,
        y: torch.Tensor,
        ids: torch.Tensor,
        num_items_in_batch: int | torch.Tensor | None = None,
        **_: Any,
    ) -> ProbeOutput:
        """Mean loss of the micro-batch, or its sum divided by ``num_items_in_batch`` when given."""
        losses = self.per_sample_loss(x, y, ids)
        if num_items_in_batch is None:
            loss = losses.mean()
        else:
            if isinstance(num_items_in_batch, torch.Tensor):
                num_items_in_batch = num_items_in_batch.to(losses.device)
            loss = losses.sum() / num_items_in_batch
        return ProbeOutput(loss=loss)
