"""Records every optimizer step that touches the probe model's parameters, whatever wraps the optimizer.

Applied steps are caught by torch's global optimizer step hooks, which fire inside the real
``Optimizer.step`` under any wrapper (LightningOptimizer, AcceleratedOptimizer, HF Trainer). The
pre-hook keeps the parameters before the step; the post-hook reads the gradient, because a step
given a closure (Lightning) runs the window's last forward and backward inside ``step``. Steps
that ``GradScaler.step`` skips on inf/nan never reach ``Optimizer.step``; the recorder wraps
``torch.amp.GradScaler.step`` while installed to notice them. An optimizer outside torch.optim is
recorded by :meth:`Recorder.record_step` around its update (``RunContext.record_step``); a
torch.optim step inside that block is part of it, not a second step. Around every step call it
also reads the optimizer's step counter and a watched average of the parameters (step_state.py),
and it counts the applied steps for the probe's overflowStep.

In a data-parallel run every rank records with its own Recorder; :func:`merge_rank_traces`
makes one trace of their parts.
"""

from __future__ import annotations

import contextlib
import math
import sys
from collections.abc import Iterator
from types import FrameType
from typing import Any

import torch
from torch.amp import GradScaler
from torch.optim.optimizer import register_optimizer_step_post_hook, register_optimizer_step_pre_hook

from . import heartbeat
from .probe import ProbeModel
from .progress import Counter
from .step_state import AverageReader, AverageWatch
from .step_state import optimizer_steps as read_optimizer_steps
from .updates import UpdateReader

TRACE_FORMAT = "accumaudit-trace"
TRACE_VERSION = 2


class Recorder:
    """Captures the steps and micro-batches of one run of one trainer on the probe model.

    Use as a context manager (or call :meth:`install` / :meth:`remove`); read :meth:`trace` after.
    ``rank`` is the data-parallel rank whose forward passes and steps this recorder sees.
    """

    def __init__(self, model: ProbeModel, record: bool = True, rank: int = 0):
        self.model = model
        self.record = record
        self.rank = int(rank)
        self.steps: list[dict[str, Any]] = []
        self.micro_batches: list[dict[str, Any]] = []
        #: The precisions the forward passes that build a graph computed in (precision.py).
        self.precisions_seen: set[str] = set()
        self._step_calls = 0
        self._applied = 0
        self._scalers: list[GradScaler] = []
        self._hooks: list[Any] = []
        self._parameters_before: list[float] | None = None
        self._original_scaler_step: Any = None
        self._in_recorded_step = False
        # The outermost hooked step call in progress (its frame), and whether record_step ran inside it.
        self._open_step: FrameType | None = None
        self._recorded_inside = False
        # Fingerprint entries a read may find non-zero (see _fingerprint_entries): the flat indices
        # that forward passes gathered since the last read, and the non-zero entries of that read.
        self._forward_indices: list[tuple[int, list[int]]] = []  # (epoch * N, sample ids) per forward
        self._last_nonzero: torch.Tensor | None = None
        self._full_scans_left = 0
        self.sparse_reads = 0
        self.full_scans = 0
        # What each step did to the parameters and what changed them outside the steps (updates.py),
        # from the parameters as they were at install; and the open step's rule and learning rate.
        self._updates: UpdateReader | None = None
        self._rule: tuple[str, float | None] = ("other", None)
        # The flat indices of the forward passes the pre-hook read (their count, the tensor), to reuse.
        self._coming: tuple[int, torch.Tensor] | None = None
        #: The micro-batches of the epoch in progress, told to the harness's progress line (progress.py).
        self._progress = Counter()
        #: The moving average of the parameters the run keeps, read around every step call (step_state.py).
        self._average = AverageWatch(model)

    # -- installation -------------------------------------------------------------------------

    def install(self) -> Recorder:
        """Starts observing forward passes, optimizer steps and GradScaler skips."""
        if self._hooks:
            return self
        if self.record and self._updates is None:
            self._updates = UpdateReader(self.model)
        self.model.observer = self._on_forward
        self.model.applied_steps = self._applied_count
        self._hooks = [
            register_optimizer_step_pre_hook(self._before_step),
            register_optimizer_step_post_hook(self._after_step),
        ]
        self._original_scaler_step = GradScaler.step
        recorder, original = self, self._original_scaler_step

        def step(scaler: GradScaler, optimizer: torch.optim.Optimizer, *args: Any, **kwargs: Any) -> Any:
            if not scaler.is_enabled() or not recorder.tracks(optimizer) or recorder._in_recorded_step:
                return original(scaler, optimizer, *args, **kwargs)
            calls_before = recorder._step_calls
            if recorder.record:
                recorder._average.started()
            recorder._scalers.append(scaler)
            try:
                result = original(scaler, optimizer, *args, **kwargs)
            finally:
                recorder._scalers.pop()
            if recorder._step_calls == calls_before:
                recorder._record_skipped(float(scaler.get_scale()), optimizer)
            return result

        GradScaler.step = step  # type: ignore[method-assign]
        return self

    def remove(self) -> None:
        """Stops observing; restores GradScaler.step and removes the hooks."""
        for hook in self._hooks:
            hook.remove()
        self._hooks = []
        self._open_step = None
        if self._original_scaler_step is not None:
            GradScaler.step = self._original_scaler_step  # type: ignore[method-assign]
            self._original_scaler_step = None
        if self.model.observer == self._on_forward:
            self.model.observer = None
        if self.model.applied_steps == self._applied_count:
            self.model.applied_steps = None

    def __enter__(self) -> Recorder:
        return self.install()

    def __exit__(self, error_type: type[BaseException] | None, *_: Any) -> None:
        try:
            if error_type is None and self._updates is not None:
                # A final copy of the watched average into the model is the average's, not a change to judge.
                if self._average.holds_parameters():
                    self._updates.accept_current()
                self._updates.check_outside(self._step_calls, end=True)  # after the last step
            if error_type is None:
                self._average.settle()  # the last step call's average, as the run ends
        finally:
            self.remove()

    # -- observation ----------------------------------------------------------------------------

    @property
    def step_calls(self) -> int:
        """Optimizer steps (applied or skipped) recorded so far."""
        return self._step_calls

    def _applied_count(self) -> int:
        """Optimizer steps applied so far (what the probe's overflowStep counts)."""
        return self._applied

    def watch_average(self, read: AverageReader) -> None:
        """Watches a moving average of the parameters: ``read()`` returns the averaged tensors in
        ``model.parameters()`` order, or None while none exists (see step_state.py)."""
        self._average.watch(read)

    def tracks(self, optimizer: torch.optim.Optimizer) -> bool:
        """True when the optimizer updates the probe model's fingerprint parameter."""
        target = self.model.fingerprint
        return any(p is target for group in getattr(optimizer, "param_groups", ()) for p in group["params"])

    def _on_forward(self, epoch: int, ids: list[int], precision: str) -> None:
        heartbeat.beat()
        self.precisions_seen.add(precision)
        # A pass over no samples (a rank whose shard ran out joining a window's all-reduce) is no micro-batch.
        if ids:
            self._progress.forward(int(epoch), self._step_calls)
        if self.record and ids:
            self.micro_batches.append({"epoch": int(epoch), "samples": ids, "stepsBefore": self._step_calls})
            self._forward_indices.append((int(epoch) * self.model.dataset_size, ids))

    def _before_step(self, optimizer: torch.optim.Optimizer, _args: Any, _kwargs: Any) -> None:
        if self._in_recorded_step or not self.tracks(optimizer):
            return
        wrapper = sys._getframe(1)  # torch's hooked step, which calls the pre- and post-hooks
        if self._open_step is not None and _called_from(wrapper, self._open_step):
            return  # a step inside a step (a subclass's step calling super().step()) is the same step
        # A step that raised never reached its post-hook: the next one replaces it.
        self._open_step, self._recorded_inside = wrapper, False
        if self.record:
            self._average.started()
            if self._updates is not None:
                self._updates.check_outside(self._step_calls, candidates=self._coming_indices())
                self._rule = self._updates.rule(optimizer)  # the rate this step runs with, before a scheduler moves it
            self._parameters_before = self._body_parameters()

    def _after_step(self, optimizer: torch.optim.Optimizer, _args: Any, _kwargs: Any) -> None:
        heartbeat.beat()
        if not self._in_recorded_step and self._updates is not None and self._holds_body_only(optimizer):
            self._updates.absorb_body()  # an optimizer over body parameters alone: its change is a step's
        if self._in_recorded_step or not self.tracks(optimizer) or sys._getframe(1) is not self._open_step:
            return
        self._open_step = None
        if self._recorded_inside:
            return  # record_step inside this step call recorded it
        self._step_calls += 1
        self._applied += 1
        if not self.record:
            return
        scale = float(self._scalers[-1].get_scale()) if self._scalers else None
        before, self._parameters_before = self._parameters_before, None
        fingerprint, index = self._fingerprint_gradient()
        step: dict[str, Any] = {
            "epoch": int(self.model.epoch),
            "skipped": False,
            "fingerprint": fingerprint,
            "body": None if before is None else {"parametersBefore": before, "gradient": self._body_gradient()},
        }
        if scale is not None:
            step["lossScale"] = scale
        if self._updates is not None:
            step["update"] = self._updates.step_update(index, *self._rule, self._step_calls)
        self._append(step, optimizer)

    @contextlib.contextmanager
    def record_step(
        self,
        learning_rate: float | None = None,
        optimizer: Any = None,
        rate: float | None = None,
        optimizer_steps: int | None = None,
    ) -> Iterator[None]:
        """Records the update the block runs as one applied step (see ``RunContext.record_step``).

        The step's gradient is the parameters' ``.grad`` on entry, or with a ``learning_rate`` above 0
        their change over the block divided by it, ``(before - after) / learning_rate``; a rate of 0
        (a warm-up's first step) is recorded as the step's rate, its gradient read from ``.grad``.
        With ``optimizer``, its own step counter after the block is recorded too; ``optimizer_steps``
        gives that count itself (an optimizer whose counter is not torch state). ``rate`` is the
        learning rate the step ran with, recorded as it is (the gradient still from ``.grad`` on
        entry, unless ``learning_rate`` is given). A torch.optim step
        inside the block is not recorded again; a nested block is part of the outer one. When the
        block raises, nothing is recorded.
        """
        given = checked_learning_rate(learning_rate, allow_zero=True)
        lr = given if given else None
        used = checked_learning_rate(rate, allow_zero=True)
        used = given if used is None else used
        if self._in_recorded_step:
            yield
            return
        epoch = int(self.model.epoch)
        if self.record:
            self._average.started()
        if self.record and self._updates is not None:
            self._updates.check_outside(self._step_calls, candidates=self._coming_indices())
        before = self._body_parameters() if self.record else None
        start = self._parameter_values() if self.record and lr is not None else []
        if self.record and lr is None:  # what the update is about to apply
            fingerprint, index = self._fingerprint_gradient()
            gradient = None if before is None else self._body_gradient()
        self._in_recorded_step = True
        try:
            yield
        finally:
            self._in_recorded_step = False
        heartbeat.beat()
        self._step_calls += 1
        self._applied += 1
        self._recorded_inside = self._open_step is not None
        if not self.record:
            return
        if lr is not None:  # what the update did
            change = [(a - b) / lr for a, b in zip(start, self._parameter_values(), strict=True)]
            fingerprint, index = self._fingerprint_entries(change[0])
            gradient = None if before is None else torch.cat([c.reshape(-1) for c in change[1:]]).tolist()
        body = None if before is None else {"parametersBefore": before, "gradient": gradient}
        step = {"epoch": epoch, "skipped": False, "fingerprint": fingerprint, "body": body}
        if self._updates is not None:
            step["update"] = self._updates.step_update(index, "other", used, self._step_calls)
        counter = optimizer_steps
        if counter is None and optimizer is not None:
            counter = read_optimizer_steps(optimizer, self.model.parameters())
        if counter is not None:
            step["optimizerSteps"] = counter
        self._append(step, None)

    def _parameter_values(self) -> list[torch.Tensor]:
        """The fingerprint and the body parameters, as float64 copies on the CPU."""
        parameters = [self.model.fingerprint, *self.model.body_parameters()]
        return [p.detach().to("cpu", torch.float64, copy=True) for p in parameters]

    def _record_skipped(self, scale: float, optimizer: torch.optim.Optimizer) -> None:
        self._step_calls += 1
        if not self.record:
            return
        step = {
            "epoch": int(self.model.epoch),
            "skipped": True,
            "fingerprint": {"epochs": [], "samples": [], "weights": []},
            "body": None,
            "lossScale": scale,
        }
        self._append(step, optimizer)

    def _append(self, step: dict[str, Any], optimizer: torch.optim.Optimizer | None) -> None:
        """Records the step call that just ended, with the optimizer's step counter (when it keeps
        one) and, when an average is watched, what step_state.py reads around it."""
        counter = None if optimizer is None else read_optimizer_steps(optimizer, self.model.parameters())
        if counter is not None:
            step["optimizerSteps"] = counter
        self._average.ended(step)
        self.steps.append(step)

    def _coming_indices(self) -> torch.Tensor | None:
        """The flat fingerprint indices the forward passes since the last read gathered (what the
        coming step's gradient touches), for a sparsely read fingerprint; None otherwise."""
        if self._updates is None or not self._updates.sparse:
            return None
        flat = self._flat_forward_indices()
        self._coming = (len(self._forward_indices), flat)  # _take_candidates reads them again
        return flat

    def _flat_forward_indices(self) -> torch.Tensor:
        """The flat indices of every forward pass since the last read, as one tensor."""
        forwards = self._forward_indices
        if self._coming is not None and self._coming[0] == len(forwards):
            return self._coming[1]
        return torch.tensor([offset + i for offset, ids in forwards for i in ids], dtype=torch.int64)

    def _holds_body_only(self, optimizer: torch.optim.Optimizer) -> bool:
        """True when the optimizer updates body parameters of the probe model but not its fingerprint."""
        if self.tracks(optimizer):
            return False
        body = {id(p) for p in self.model.body_parameters()}
        return any(id(p) in body for group in getattr(optimizer, "param_groups", ()) for p in group["params"])

    def _fingerprint_gradient(self) -> tuple[dict[str, list[Any]], torch.Tensor]:
        return self._fingerprint_entries(self.model.fingerprint.grad)

    def _fingerprint_entries(self, grad: torch.Tensor | None) -> tuple[dict[str, list[Any]], torch.Tensor]:
        """A fingerprint gradient as the trace's sparse entries: epoch, sample and weight (gradient / c),
        with their flat indices (a tensor on the gradient's device).

        Equal to the full scan ``torch.nonzero(grad != 0)`` (:func:`full_scan_index`), read from the
        candidate entries only when that is provably the same: see :func:`sparse_nonzero_index`.
        The candidates are the entries the forward passes since the last read gathered, and the
        entries that read found non-zero (a gradient a loop does not clear, an L2 term in the loss
        over entries that earlier steps moved). Every read starts a new candidate set. A gradient of
        fewer than :data:`SPARSE_READ_FROM` entries is scanned in full, which costs less there.
        """
        candidates = self._take_candidates()
        if grad is None:
            self._last_nonzero = None
            return {"epochs": [], "samples": [], "weights": []}, torch.empty(0, dtype=torch.int64)
        grad = grad.detach().reshape(-1)
        index = None
        if candidates is None:
            pass  # a small fingerprint: the full scan below
        elif self._full_scans_left > 0:
            self._full_scans_left -= 1
        else:
            index = sparse_nonzero_index(grad, candidates)
            if index is None:  # some entry outside the candidates is non-zero (e.g. other ranks' samples)
                self._full_scans_left = FULL_SCANS_AFTER_MISS
        if index is None:
            self.full_scans += 1
            index = full_scan_index(grad)
        else:
            self.sparse_reads += 1
        weights = (grad[index].double() / self.model.coefficient).cpu()
        on_device, index = index, index.cpu()
        self._last_nonzero = index
        n = self.model.dataset_size
        entries = {
            "epochs": (index // n).tolist(),
            "samples": (index % n).tolist(),
            "weights": weights.tolist(),
        }
        return entries, on_device

    def _take_candidates(self) -> torch.Tensor | None:
        """The candidate flat indices (unsorted, possibly repeated, possibly out of range), cleared for
        the next read; None when the fingerprint is too small to be read from them."""
        if self.model.fingerprint.numel() < SPARSE_READ_FROM:
            self._forward_indices, self._coming = [], None
            return None
        flat = self._flat_forward_indices()
        self._forward_indices, self._coming = [], None
        if self._last_nonzero is None:
            return flat
        return torch.cat([flat, self._last_nonzero])

    def _body_parameters(self) -> list[float] | None:
        parameters = self.model.body_parameters()
        if not parameters:
            return None
        return torch.cat([p.detach().reshape(-1).to("cpu", torch.float64, copy=True) for p in parameters]).tolist()

    def _body_gradient(self) -> list[float]:
        gradients = [
            p.grad.detach().reshape(-1).to("cpu", torch.float64)
            if p.grad is not None
            else torch.zeros(p.numel(), dtype=torch.float64)
            for p in self.model.body_parameters()
        ]
        return torch.cat(gradients).tolist()

    # -- result ---------------------------------------------------------------------------------

    def trace(self, scenario: dict[str, Any], trainer: dict[str, Any]) -> dict[str, Any]:
        """This rank's trace in the Trace v2 format (camelCase, no replicas; every micro-batch carries
        the recorder's rank); floats may be non-finite."""
        trace = {
            "format": TRACE_FORMAT,
            "version": TRACE_VERSION,
            "trainer": trainer,
            "scenario": scenario,
            "steps": self.steps,
            "microBatches": [{**micro_batch, "rank": self.rank} for micro_batch in self.micro_batches],
        }
        outside = [] if self._updates is None else self._updates.outside
        if outside:
            trace["outsideSteps"] = [{"rank": self.rank, **change} for change in outside]
        return trace


#: Fingerprint gradients with fewer entries are read by the full scan: below about this size one
#: scan costs less than the candidates' proof (about 15 against 80 microseconds at 4,096 entries, 1 thread).
SPARSE_READ_FROM = 16384

#: After a read whose candidates missed a non-zero entry, this many reads scan in full before
#: candidates are tried again (a data-parallel rank's all-reduced gradient holds other ranks' samples).
FULL_SCANS_AFTER_MISS = 8


def full_scan_index(grad: torch.Tensor) -> torch.Tensor:
    """Ascending indices of the non-zero entries of a flat tensor (NaN counts as non-zero, -0.0 does not)."""
    return torch.nonzero(grad != 0, as_tuple=True)[0]


def sparse_nonzero_index(grad: torch.Tensor, candidates: torch.Tensor) -> torch.Tensor | None:
    """:func:`full_scan_index` of the flat tensor ``grad`` read from ``candidates``, or None when
    the candidates miss an entry that may be non-zero.

    Exact: let Z be the entries whose bit pattern is not all zeros. Every entry the full scan keeps
    (``!= 0``: any non-zero number, inf, NaN) is in Z, since only +0.0 is all zeros. C, the candidates
    reduced to distinct valid indices in ascending order, is a set, so when Z's size over all of
    ``grad`` (one ``count_nonzero`` over the bits, no index built) equals its size over ``grad[C]``,
    Z lies inside C. Then the full scan's ascending indices are exactly the ascending C filtered by
    ``grad[C] != 0``, and the values are the same entries. Otherwise (e.g. a -0.0 or a non-zero
    outside C) the answer is None and the caller scans in full.
    """
    size = grad.numel()
    bits = _bit_pattern(grad)
    total = int(torch.count_nonzero(bits))
    if total == 0:
        return torch.empty(0, dtype=torch.int64, device=grad.device)
    if candidates.numel() < total:
        return None
    candidates = candidates[(candidates >= 0) & (candidates < size)]
    candidates = torch.unique(candidates, sorted=True).to(grad.device)
    if int(torch.count_nonzero(bits[candidates])) != total:
        return None
    return candidates[grad[candidates] != 0]


_INTEGERS_OF_SIZE = {1: torch.int8, 2: torch.int16, 4: torch.int32, 8: torch.int64}


def _bit_pattern(values: torch.Tensor) -> torch.Tensor:
    """The entries' bits as integers of the same size (non-zero exactly where the float is not +0.0;
    counting these is faster than counting ``!= 0``); the tensor itself when it is not floating point."""
    integers = _INTEGERS_OF_SIZE.get(values.element_size())
    if not values.is_floating_point() or integers is None:
        return values
    try:
        return values.view(integers)
    except (RuntimeError, TypeError):  # a tensor subclass without dtype views: its values (!= 0) serve as well
        return values


def _called_from(frame: FrameType | None, ancestor: FrameType) -> bool:
    """True when ``ancestor`` is ``frame`` or one of its callers."""
    while frame is not None:
        if frame is ancestor:
            return True
        frame = frame.f_back
    return False


def checked_learning_rate(learning_rate: Any, allow_zero: bool = False) -> float | None:
    """``record_step``'s ``learning_rate``: None, or a positive finite number (0 too with
    ``allow_zero``); else a one-line ValueError."""
    if learning_rate is None:
        return None
    if isinstance(learning_rate, torch.Tensor) and learning_rate.numel() == 1:
        learning_rate = learning_rate.item()
    valid = isinstance(learning_rate, (int, float)) and not isinstance(learning_rate, bool)
    low = learning_rate < 0 if allow_zero and valid else not valid or learning_rate <= 0
    if not valid or not math.isfinite(learning_rate) or low:
        expected = "a finite number of 0 or more" if allow_zero else "a positive finite number"
        raise ValueError(f"record_step: learning_rate: expected {expected} or None, saw {learning_rate!r}")
    return float(learning_rate)


def merge_rank_traces(parts: list[dict[str, Any]]) -> dict[str, Any]:
    """One Trace v2 from the ranks' traces, ``parts[r]`` being rank r's.

    Trainer info, scenario and ``steps`` come from rank 0; with more than one rank, ``replicas``
    holds every other rank's steps; ``microBatches`` lists every rank's, ranks in order, and so does
    ``outsideSteps`` (only when a rank saw a change outside its steps).
    """
    first = parts[0]
    trace = {key: first[key] for key in ("format", "version", "trainer", "scenario", "steps")}
    if len(parts) > 1:
        trace["replicas"] = [{"rank": rank, "steps": part["steps"]} for rank, part in enumerate(parts) if rank > 0]
    trace["microBatches"] = [micro_batch for part in parts for micro_batch in part["microBatches"]]
    outside = [change for part in parts for change in part.get("outsideSteps", [])]
    if outside:
        trace["outsideSteps"] = outside
    return trace
