"""Where a run in flight stands (its epoch, micro-batch and steps), for the harness's progress line:
the ``progress`` message of docs/protocol.md.

The recorder counts the micro-batches of every epoch (:class:`Counter`, at every forward pass over
samples) and notes each one here (:func:`note`). In the worker's own process (worldSize 1) a note
goes straight to the run's :class:`Reporter`, which sends a message at the first micro-batch and
then at most every :data:`INTERVAL_S`: one ``time.monotonic()`` per micro-batch, one message per
half second. A forked rank writes its note into a board the worker shares with it (as heartbeat.py
does); the worker reads rank 0's slot while it supervises the ranks (:func:`relay`). Spawned ranks
(data-parallel runs on CUDA) share no board and report nothing.
"""

from __future__ import annotations

import math
import mmap
import struct
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

#: Least time between two progress messages of a run.
INTERVAL_S = 0.5

#: One rank's slot: its epoch tag (-1 before its first micro-batch), the micro-batches of that
#: epoch so far, the optimizer steps so far.
_SLOT = struct.Struct("qqq")

#: The reporter of the run in flight in this process (the worker's), if the harness asked for progress.
_reporter: Reporter | None = None
#: The board the next forked ranks inherit (set by the worker before it forks them).
_board: mmap.mmap | None = None
#: This rank's slot on the board (set in the rank after the fork).
_slot: int | None = None


class Reporter:
    """Turns notes into progress messages for one run, at most one every :data:`INTERVAL_S`, and
    hands them to ``send``. The totals come from the scenario: under epoch sampling the epochs and
    one rank's micro-batches per epoch (rank 0's: ceil(N / W) samples in micro-batches of B, the
    short last one dropped with dropLast); under replacement sampling the run's steps and their
    steps x K micro-batches, all counted as one epoch."""

    def __init__(self, send: Callable[[dict[str, Any]], None], scenario: dict[str, Any]):
        self._send: Callable[[dict[str, Any]], None] | None = send
        self._last = -math.inf
        self._lock = threading.Lock()
        if scenario.get("sampling", "epochs") == "replacement":
            steps = int(scenario.get("steps") or 0)
            self._totals: dict[str, Any] = {
                "sampling": "replacement",
                "microBatches": steps * int(scenario["accumulation"]),
                "totalSteps": steps,
            }
        else:
            shard = -(-int(scenario["datasetSize"]) // int(scenario["worldSize"]))
            batch = int(scenario["batchSize"])
            per_epoch = shard // batch if scenario["dropLast"] else -(-shard // batch)
            self._totals = {"sampling": "epochs", "epochs": int(scenario["epochs"]), "microBatches": per_epoch}

    def offer(self, epoch: int, micro_batch: int, steps: int) -> None:
        """Sends where the run stands when the last message is :data:`INTERVAL_S` old (or none was
        sent). A send that fails (the harness is gone) ends the reporting, never the run."""
        now = time.monotonic()
        if now - self._last < INTERVAL_S or self._send is None:
            return
        with self._lock:  # forward passes on several threads (a framework's) send one at a time
            if now - self._last < INTERVAL_S or self._send is None:
                return
            self._last = now
            try:
                self._send(self.message(epoch, micro_batch, steps))
            except (OSError, ValueError):
                self._send = None

    def message(self, epoch: int, micro_batch: int, steps: int) -> dict[str, Any]:
        """The progress fields (without ``type`` and ``id``)."""
        if self._totals["sampling"] == "replacement":
            return {"sampling": "replacement", "microBatch": micro_batch, "steps": steps, **self._totals}
        return {**self._totals, "epoch": epoch, "microBatch": micro_batch, "steps": steps}

    def close(self) -> None:
        """No message after this one (the run's answer goes next)."""
        with self._lock:
            self._send = None


@contextmanager
def reporting(reporter: Reporter | None) -> Iterator[None]:
    """Within the block, notes of this process (and ranks' slots that :func:`relay` reads) go to ``reporter``."""
    global _reporter
    _reporter = reporter
    try:
        yield
    finally:
        _reporter = None
        if reporter is not None:
            reporter.close()


class Counter:
    """One recorder's count of the micro-batches of the epoch in progress: a forward pass over
    samples with another epoch tag than the last starts a new epoch at 1. A window that a trainer
    redoes counts again."""

    def __init__(self) -> None:
        self.epoch = -1
        self.micro_batch = 0

    def forward(self, epoch: int, steps: int) -> None:
        """A forward pass over samples, with this epoch tag, after ``steps`` optimizer steps."""
        if epoch != self.epoch:
            self.epoch, self.micro_batch = epoch, 0
        self.micro_batch += 1
        note(epoch, self.micro_batch, steps)


def note(epoch: int, micro_batch: int, steps: int) -> None:
    """Where this process's run stands: into its slot in a forked rank, else to the reporter, if any."""
    if _slot is not None and _board is not None:
        _SLOT.pack_into(_board, _SLOT.size * _slot, epoch, micro_batch, steps)
    elif _reporter is not None:
        _reporter.offer(epoch, micro_batch, steps)


def open_board(world_size: int) -> mmap.mmap:
    """A board of ``world_size`` empty slots that forked ranks inherit and write."""
    global _board
    board = mmap.mmap(-1, _SLOT.size * world_size)
    for rank in range(world_size):
        _SLOT.pack_into(board, _SLOT.size * rank, -1, 0, 0)
    _board = board
    return board


def close_board(board: mmap.mmap) -> None:
    global _board
    if _board is board:
        _board = None
    board.close()


def attach(rank: int) -> None:
    """In a forked rank: from now on :func:`note` writes this rank's slot (and never the worker's reporter)."""
    global _slot, _reporter
    _reporter = None
    _slot = rank if _board is not None else None


def relay(board: mmap.mmap) -> None:
    """In the worker, while ranks run: offers rank 0's slot to the reporter, once it holds a micro-batch."""
    if _reporter is None:
        return
    epoch, micro_batch, steps = _SLOT.unpack_from(board, 0)
    if epoch >= 0:
        _reporter.offer(epoch, micro_batch, steps)
