"""The probe model and its dataset, as trainers/contract/probe.ts specifies them.

The harness sends the dataset and the body's initial parameters; nothing is regenerated here.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import torch
from torch import nn
from torch.nn import functional as F

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
