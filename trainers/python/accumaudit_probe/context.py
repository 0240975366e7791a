"""What a training function receives: the scenario, the probe model and the pieces a loop builds on."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import torch
from torch.optim.lr_scheduler import LambdaLR
from torch.optim.swa_utils import AveragedModel, get_ema_multi_avg_fn
from torch.utils.data import DataLoader, DistributedSampler, RandomSampler, Sampler

from .precision import PRECISIONS
from .probe import ProbeDataset, ProbeModel, collate
from .recorder import checked_learning_rate
from .schedule import scenario_factor, schedule_length
from .step_state import AverageReader

if TYPE_CHECKING:
    from .recorder import Recorder

PRECISION_DTYPES = {"fp16": torch.float16, "bf16": torch.bfloat16}
#: AdamW's weight decay under ``optimizer: "adamw"`` (scenario.ts ADAMW_WEIGHT_DECAY).
ADAMW_WEIGHT_DECAY = 0.01


class ShardSampler(Sampler[int]):
    """The epoch's order sharded the way ``DistributedSampler`` shards it, without padding.

    The order is ``DistributedSampler``'s (index order, or ``randperm`` from ``seed + epoch``);
    rank r takes positions r, r + W, r + 2W, ..., so shards differ by at most one sample and
    every sample is in exactly one shard.
    """

    def __init__(self, size: int, world_size: int, rank: int, seed: int | None):
        self.size, self.world_size, self.rank, self.seed = size, world_size, rank, seed
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = int(epoch)

    def __iter__(self) -> Iterator[int]:
        if self.seed is None:
            order = list(range(self.size))
        else:
            order = torch.randperm(self.size, generator=torch.Generator().manual_seed(self.seed + self.epoch)).tolist()
        return iter(order[self.rank :: self.world_size])

    def __len__(self) -> int:
        return len(range(self.rank, self.size, self.world_size))


def _batched_collate(options: dict[str, Any]) -> dict[str, Any]:
    """DataLoader options with :func:`probe.collate` as the collate_fn where the loader would use
    ``default_collate``: batching on and no collate_fn of the caller's."""
    if "collate_fn" in options or options.get("batch_size") is None or options.get("batch_sampler") is not None:
        return options
    return {**options, "collate_fn": collate}


class RunContext:
    """One run of one trainer on one scenario, on one rank.

    Attributes:
        scenario: the validated scenario (camelCase keys as in the TypeScript Scenario).
        dataset: the scenario's samples (all of them, on every rank).
        model: the probe model, already on :attr:`device`.
        device: ``"cpu"`` or ``"cuda"``.
        precision: ``"fp32"``, ``"fp16"`` or ``"bf16"`` (from the scenario).
        rank: this process's rank, 0 .. world_size - 1 (0 when worldSize is 1).
        local_rank: its rank on this machine (every rank runs on this machine, so equal to rank).
        recorder: the run's recorder, which :meth:`record_step` records through (None: nothing is recorded).
    """

    def __init__(
        self,
        scenario: dict[str, Any],
        dataset: ProbeDataset,
        model: ProbeModel,
        device: str,
        rank: int = 0,
        recorder: Recorder | None = None,
    ):
        self.scenario = scenario
        self.dataset = dataset
        self.model = model
        self.device = device
        self.precision: str = scenario["precision"]
        self.rank = int(rank)
        self.local_rank = self.rank
        self.framework: dict[str, str] = {"framework": "pytorch", "frameworkVersion": torch.__version__}
        #: What :meth:`set_effective_precision` said the run trains in (None: nothing said).
        self.stated_precision: str | None = None
        self._samplers: list[DistributedSampler | ShardSampler] = []
        self.recorder = recorder
        #: The generator :meth:`draw_batch` draws from, seeded from the data seed on first use.
        self._draws: torch.Generator | None = None

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
    def sampling(self) -> str:
        """``"epochs"`` (each epoch a pass over the dataset) or ``"replacement"`` (every micro-batch
        B random draws with replacement, no epochs, ``steps`` optimizer steps)."""
        return str(self.scenario.get("sampling", "epochs"))

    @property
    def steps(self) -> int | None:
        """S: the optimizer steps of a run that draws with replacement (None under epoch sampling)."""
        steps = self.scenario.get("steps")
        return None if steps is None else int(steps)

    @property
    def world_size(self) -> int:
        """W: data-parallel ranks (processes) of the run."""
        return int(self.scenario["worldSize"])

    @property
    def is_distributed(self) -> bool:
        """True when the run has more than one rank."""
        return self.world_size > 1

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

    @property
    def clip_norm(self) -> float | None:
        """C: the global L2 norm a step's gradient is clipped to, once per step (None: no clipping)."""
        clip = self.scenario.get("clipNorm")
        return None if clip is None else float(clip)

    @property
    def ema_decay(self) -> float | None:
        """The decay of the parameters' moving average, one update per applied step (None: no average)."""
        decay = self.scenario.get("ema")
        return None if decay is None else float(decay)

    @property
    def schedule(self) -> str:
        """The learning-rate schedule: ``"constant"``, ``"linear"``, ``"cosine"`` or ``"step"``."""
        return str(self.scenario.get("schedule", "constant"))

    @property
    def warmup_steps(self) -> int:
        """w: applied optimizer steps of linear warm-up from 0 before the schedule."""
        return int(self.scenario.get("warmupSteps", 0))

    @property
    def schedule_length(self) -> int:
        """T: the applied optimizer steps the learning-rate schedule spans (schedule.py)."""
        return schedule_length(self.scenario)

    def schedule_factor(self, s: int) -> float:
        """The learning rate's multiplier at applied step ``s`` (0-based): the scenario's schedule
        after its warm-up (schedule.py)."""
        return scenario_factor(self.scenario, s, self.schedule_length)

    # -- building blocks ------------------------------------------------------------------------

    def make_optimizer(self) -> torch.optim.Optimizer:
        """The scenario's optimizer over all the probe model's parameters at its learning rate: plain
        SGD, or under ``optimizer: "adamw"`` AdamW (betas 0.9 and 0.999, eps 1e-8, weight decay 0.01)."""
        if self.scenario.get("optimizer", "sgd") == "adamw":
            return torch.optim.AdamW(
                self.model.parameters(), lr=self.learning_rate, betas=(0.9, 0.999), eps=1e-8, weight_decay=ADAMW_WEIGHT_DECAY
            )
        return torch.optim.SGD(self.model.parameters(), lr=self.learning_rate)

    def make_scheduler(self, optimizer: torch.optim.Optimizer) -> LambdaLR:
        """The scenario's learning-rate schedule on ``optimizer`` (made before its first step):
        ``LambdaLR`` with :meth:`schedule_factor`. Call ``scheduler.step()`` once after every applied
        optimizer step, never after a skipped one or a micro-batch."""
        total = self.schedule_length
        return LambdaLR(optimizer, lambda s: scenario_factor(self.scenario, s, total))

    def make_ema(self, decay: float | None = None) -> AveragedModel:
        """An exponential moving average of the probe model, ``AveragedModel`` with
        ``get_ema_multi_avg_fn(decay)`` (the scenario's ``ema`` unless given), watched by the recorder.
        Call ``ema.update_parameters(model)`` once after every applied optimizer step."""
        decay = self.ema_decay if decay is None else float(decay)
        if decay is None:
            raise ValueError("make_ema: expected a decay (the scenario's ema or the decay argument), saw none")
        average = AveragedModel(self.model, multi_avg_fn=get_ema_multi_avg_fn(decay))
        self.watch_average(lambda: list(average.module.parameters()))
        return average

    def watch_average(self, read: AverageReader) -> None:
        """Has the recorder read a moving average of the parameters around every step call (the
        trace's ``average``): ``read()`` returns the averaged tensors in ``model.parameters()``
        order, or None while none exists. A later call replaces the average watched before."""
        if self.recorder is not None:
            self.recorder.watch_average(read)

    def make_loader(self, shuffle_seed: int | None | bool = True, **overrides: Any) -> DataLoader:
        """DataLoader of micro-batches: batch_size=B, drop_last from the scenario, shuffled per epoch.

        ``shuffle_seed=True`` takes the scenario's seed; an int overrides it; None/False never shuffles.
        Shuffling draws from one ``torch.Generator`` seeded once, so every epoch has its own order.

        Under replacement sampling it is the run's draws instead: ``steps`` x K micro-batches of B ids
        drawn with replacement (``RandomSampler(replacement=True)`` from a generator seeded with the
        data seed); ``shuffle_seed`` does not apply.
        """
        if self.sampling == "replacement":
            return self._replacement_loader(**overrides)
        seed = self.shuffle_seed if shuffle_seed is True else (None if shuffle_seed is False else shuffle_seed)
        options: dict[str, Any] = {"batch_size": self.batch_size, "drop_last": self.drop_last}
        if seed is not None:
            options["shuffle"] = True
            options["generator"] = torch.Generator().manual_seed(seed)
        options.update(overrides)
        return DataLoader(self.dataset, **_batched_collate(options))

    def _replacement_loader(self, **overrides: Any) -> DataLoader:
        """The run's draws as a loader: steps x K micro-batches of B ids drawn with replacement."""
        draws = int(self.steps or 0) * self.accumulation * self.batch_size
        generator = torch.Generator().manual_seed(int(self.scenario["dataSeed"]))
        sampler = RandomSampler(self.dataset, replacement=True, num_samples=draws, generator=generator)
        options: dict[str, Any] = {"batch_size": self.batch_size, "drop_last": False, "sampler": sampler}
        options.update(overrides)
        return DataLoader(self.dataset, **_batched_collate(options))

    def draw_batch(self) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """One micro-batch of B sample ids drawn with replacement, as nanoGPT's ``get_batch`` draws
        ``torch.randint(N, (B,))``: (x, y, ids) on the device, as :meth:`to_device` gives a loader
        batch. Every call draws anew from one generator seeded with the data seed (either sampling)."""
        if self._draws is None:
            self._draws = torch.Generator().manual_seed(int(self.scenario["dataSeed"]))
        ids = torch.randint(len(self.dataset), (self.batch_size,), generator=self._draws).tolist()
        return self.to_device(collate(self.dataset.__getitems__(ids)))

    def make_distributed_loader(self, pad: bool = True, **overrides: Any) -> DataLoader:
        """DataLoader of this rank's micro-batches of B (drop_last from the scenario) over its shard.

        ``pad=True`` shards with ``torch.utils.data.DistributedSampler`` (W replicas, this rank,
        shuffled from the scenario's seed when there is one, drop_last=False): it pads the last
        shard by repeating samples from the start of the order, so every rank gets ceil(N / W).
        ``pad=False`` shards the same order without padding (:class:`ShardSampler`). Either way
        :meth:`set_epoch` tells the sampler the epoch. ``overrides`` go to ``DataLoader``. Under
        replacement sampling (one rank) it is :meth:`make_loader`'s draws.
        """
        if self.sampling == "replacement":
            return self._replacement_loader(**overrides)
        seed = self.shuffle_seed
        sampler: DistributedSampler | ShardSampler
        if pad:
            sampler = DistributedSampler(
                self.dataset,
                num_replicas=self.world_size,
                rank=self.rank,
                shuffle=seed is not None,
                seed=0 if seed is None else seed,
                drop_last=False,
            )
        else:
            sampler = ShardSampler(len(self.dataset), self.world_size, self.rank, seed)
        self._samplers.append(sampler)
        options: dict[str, Any] = {"batch_size": self.batch_size, "drop_last": self.drop_last, "sampler": sampler}
        options.update(overrides)
        return DataLoader(self.dataset, **_batched_collate(options))

    def init_process_group(self) -> None:
        """Joins the run's process group (gloo on cpu, nccl on cuda) from the environment the worker
        set (MASTER_ADDR, MASTER_PORT, RANK, WORLD_SIZE). A no-op when worldSize is 1 or the group
        exists already; the worker destroys it after the run."""
        if not self.is_distributed:
            return
        import torch.distributed as dist

        if not dist.is_initialized():
            dist.init_process_group("nccl" if self.device == "cuda" else "gloo", rank=self.rank, world_size=self.world_size)

    def set_epoch(self, epoch: int) -> None:
        """Sets the probe model's epoch tag and tells the samplers of :meth:`make_distributed_loader`
        the epoch; call at the start of every epoch."""
        self.model.epoch = int(epoch)
        for sampler in self._samplers:
            sampler.set_epoch(int(epoch))

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
        """A loader batch as (x, y, ids) on the device: features [B, 3], labels [B] and ids [B]; under
        token weighting input ids and labels [B, L] (int64, padded to the longest), ids [B]."""
        return batch["x"].to(self.device), batch["y"].to(self.device), batch["ids"].to(self.device)

    def epochs_iter(self) -> Iterator[int]:
        """range(E) that sets the epoch tag before yielding each epoch."""
        for epoch in range(self.epochs):
            self.set_epoch(epoch)
            yield epoch

    def record_step(
        self,
        learning_rate: float | None = None,
        optimizer: Any = None,
        rate: float | None = None,
        optimizer_steps: int | None = None,
    ) -> contextlib.AbstractContextManager[None]:
        """Records the update run inside the block as one applied optimizer step, for an optimizer
        outside torch.optim (whose steps the recorder cannot see)::

            with ctx.record_step():
                my_optimizer.step()

        Without ``learning_rate`` the step applies the parameters' ``.grad`` as it is on entry (for
        optimizers that apply ``.grad`` and may clear it). With ``learning_rate=lr`` it applies the
        parameters' change over the block divided by lr, ``(before - after) / lr`` (for a plain-SGD
        update that modifies ``.grad`` or does not use it). The step is recorded as a torch.optim step
        is, and counts as a step call; a torch.optim step inside the block is not recorded twice.
        ``learning_rate=0`` (a warm-up's first step) records the rate and reads ``.grad`` on entry.
        ``optimizer``: an optimizer keeping a step counter (``state[p]["step"]``, as Adam does), whose
        count after the block is recorded as the step's ``optimizerSteps``.
        ``optimizer_steps``: that count given directly (an optimizer whose counter is no torch state,
        such as Keras' ``iterations``). ``rate``: the learning rate the step ran with, recorded as it
        is while the gradient is still read from ``.grad`` on entry (a schedule under an optimizer
        whose update is not lr·g).
        """
        checked_learning_rate(learning_rate, allow_zero=True)
        checked_learning_rate(rate, allow_zero=True)
        if self.recorder is None:
            return contextlib.nullcontext()
        return self.recorder.record_step(learning_rate, optimizer, rate, optimizer_steps)

    def set_framework(self, name: str, version: str | None = None) -> None:
        """Names the framework that drove the run, for the trace's trainer info."""
        self.framework = {"framework": name}
        if version is not None:
            self.framework["frameworkVersion"] = str(version)

    def set_effective_precision(self, precision: str) -> None:
        """Says which precision the framework really trains in (fp32, fp16 or bf16).

        The probe model sees that by itself in every forward pass (precision.py), and what it saw
        wins: a statement that disagrees is logged as a warning and left out of the trace. The
        statement holds only for a run in which the probe saw no forward pass build a graph.
        """
        if precision not in PRECISIONS:
            raise ValueError(f"set_effective_precision: expected one of {', '.join(PRECISIONS)}, saw {precision!r}")
        self.stated_precision = precision
