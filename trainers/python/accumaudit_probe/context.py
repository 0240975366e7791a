"""What a training function receives: the scenario, the probe model and the pieces a loop builds on."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import torch
from torch.utils.data import DataLoader

from .probe import ProbeDataset, ProbeModel

PRECISION_DTYPES = {"fp16": torch.float16, "bf16": torch.bfloat16}


class RunContext:
    """One run of one trainer on one scenario.

    Attributes:
        scenario: the validated scenario (camelCase keys as in the TypeScript Scenario).
        dataset: the scenario's samples.
        model: the probe model, already on :attr:`device`.
        device: ``"cpu"`` or ``"cuda"``.
        precision: ``"fp32"``, ``"fp16"`` or ``"bf16"`` (from the scenario).
    """

    def __init__(self, scenario: dict[str, Any], dataset: ProbeDataset, model: ProbeModel, device: str):
        self.scenario = scenario
        self.dataset = dataset
        self.model = model
        self.device = device
        self.precision: str = scenario["precision"]
        self.framework: dict[str, str] = {"framework": "pytorch", "frameworkVersion": torch.__version__}

    # -- scenario shorthands --------------------------------------------------------------------

    @property
    def batch_size(self) -> int:
        """B: samples per micro-batch."""
        return int(self.scenario["batchSize"])

    @property
    def accumulation(self) -> int:
        """K: micro-batches per optimizer step."""
        return int(self.scenario["accumulation"])

    @property
    def epochs(self) -> int:
        """E: passes over the dataset."""
        return int(self.scenario["epochs"])

    @property
    def learning_rate(self) -> float:
        return float(self.scenario["learningRate"])

    @property
    def drop_last(self) -> bool:
        return bool(self.scenario["dropLast"])

    @property
    def shuffle_seed(self) -> int | None:
        """The scenario's shuffle seed, or None when samples come in index order."""
        shuffle = self.scenario["shuffle"]
        return None if shuffle is False else int(shuffle)

    # -- building blocks ------------------------------------------------------------------------

    def make_optimizer(self) -> torch.optim.SGD:
        """Plain SGD over all the probe model's parameters with the scenario's learning rate."""
        return torch.optim.SGD(self.model.parameters(), lr=self.learning_rate)

    def make_loader(self, shuffle_seed: int | None | bool = True, **overrides: Any) -> DataLoader:
        """DataLoader of micro-batches: batch_size=B, drop_last from the scenario, shuffled per epoch.

        ``shuffle_seed=True`` takes the scenario's seed; an int overrides it; None/False never shuffles.
        Shuffling draws from one ``torch.Generator`` seeded once, so every epoch has its own order.
        """
        seed = self.shuffle_seed if shuffle_seed is True else (None if shuffle_seed is False else shuffle_seed)
        options: dict[str, Any] = {"batch_size": self.batch_size, "drop_last": self.drop_last}
        if seed is not None:
            options["shuffle"] = True
            options["generator"] = torch.Generator().manual_seed(seed)
        options.update(overrides)
        return DataLoader(self.dataset, **options)

    def set_epoch(self, epoch: int) -> None:
        """Sets the probe model's epoch tag; call at the start of every epoch."""
        self.model.epoch = int(epoch)

    def autocast(self) -> contextlib.AbstractContextManager[Any]:
        """torch.autocast on the device for fp16/bf16; a no-op context for fp32."""
        dtype = PRECISION_DTYPES.get(self.precision)
        if dtype is None:
            return contextlib.nullcontext()
        return torch.autocast(device_type=self.device, dtype=dtype)

    def make_scaler(self, **options: Any) -> torch.amp.GradScaler:
        """torch.amp.GradScaler on the device, enabled for fp16 only."""
        return torch.amp.GradScaler(self.device, enabled=self.precision == "fp16", **options)

    def to_device(self, batch: dict[str, torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """A loader batch as (x, y, ids) on the device."""
        return batch["x"].to(self.device), batch["y"].to(self.device), batch["ids"].to(self.device)

    def epochs_iter(self) -> Iterator[int]:
        """range(E) that sets the epoch tag before yielding each epoch."""
        for epoch in range(self.epochs):
            self.set_epoch(epoch)
            yield epoch

    def set_framework(self, name: str, version: str | None = None) -> None:
        """Names the framework that drove the run, for the trace's trainer info."""
        self.framework = {"framework": name}
        if version is not None:
            self.framework["frameworkVersion"] = str(version)

    def set_effective_precision(self, precision: str) -> None:
        """Records the precision the framework really trains in, when it differs from the scenario's.

        The harness then holds the run to the looser of the two tolerances and reports the change.
        """
        if precision != self.precision:
            self.framework["precision"] = precision
