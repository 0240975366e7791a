"""Runs one case on W rank processes, started the way torchrun starts them, and collects their results.

Every rank gets torchrun's environment (RANK, LOCAL_RANK, WORLD_SIZE, LOCAL_WORLD_SIZE,
MASTER_ADDR=127.0.0.1, MASTER_PORT: a free port per case) and calls ``target(rank, world_size,
*args)`` (rank_process.py). On the CPU a rank is a fork of the worker, which has imported torch
and the trainer's framework already; where fork is unsafe (CUDA) it is a fresh interpreter.

Nothing survives a case: when a rank fails, dies or hangs, every rank is killed with its process
group (its own children too), and each rank asks the kernel to kill it when the worker dies.
A rank that ran ahead waits for the others with its process group intact, so a rank stuck in a
collective stays stuck, and is reported as hung (its stack read from a faulthandler dump) rather
than failing on a closed connection. Faults come back as one-line :class:`RankError` messages.
"""

from __future__ import annotations

import mmap
import os
import pickle
import selectors
import signal
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import IO, Any

from . import heartbeat, progress
from .frames import Frame
from .rank_faults import Died, Fault, Hung, Raised, describe_fault, describe_hang, main_thread_stack
from .rank_process import (
    ENTRY_FUNCTION,
    RESULT_HEADER,
    RankProcess,
    fork_rank,
    free_port,
    import_before_fork,
    rank_environment,
    spawn_rank,
)

#: Seconds a rank may still run after another rank finished before it counts as hung.
HANG_GRACE_S = 20.0
#: Seconds in which no rank ran a forward pass or a step before the running ones count as hung
#: (forked ranks only: they share the worker's heartbeat board).
STALL_S = 60.0
#: The case timeout when the request gives none, and the share of it the ranks may use.
DEFAULT_TIMEOUT_S = 600.0
TIMEOUT_SHARE = 0.9
#: After a first fault, how long to keep listening so that its cause (a rank that died) is seen too.
FAILURE_SETTLE_S = 0.5
#: How long ranks may take to exit once released, and hung ranks to write their stacks.
EXIT_WAIT_S = 10.0
DUMP_WAIT_S = 2.0
POLL_S = 0.05


#: The process ids of the ranks started and not yet reaped; each leads its own process group.
_live: set[int] = set()


def live_ranks() -> set[int]:
    """The ranks of the case in flight that have not been reaped (their process ids)."""
    return set(_live)


def kill_every_rank() -> None:
    """Kills the process group of every rank not yet reaped (the worker ends: its harness is gone).
    Safe from another thread: an id leaves the set as soon as its rank is reaped, before it can be reused."""
    for pid in list(_live):
        _kill_group(pid)


class RankError(Exception):
    """A rank failed, died or hung; the message is one line naming the rank.

    ``frames``: when the rank raised, the trainer's own frames the exception passed through,
    outermost first (the error message's ``traceback``); empty otherwise.
    """

    def __init__(self, message: str, frames: tuple[Frame, ...] = ()):
        super().__init__(message)
        self.frames = frames


@dataclass
class _Rank:
    """A started rank and what the worker has heard from it."""

    process: RankProcess
    received: bytearray = field(default_factory=bytearray)
    outcome: tuple[str, Any] | None = None  # ("ok", result) or ("fault", Raised | Exited)
    status: int | None = None  # os.waitpid status, once reaped
    at: float = 0.0  # when the outcome arrived or the process ended

    @property
    def rank(self) -> int:
        return self.process.rank

    @property
    def pid(self) -> int:
        return self.process.pid

    @property
    def pending(self) -> bool:
        return self.outcome is None and self.status is None

    @property
    def fault(self) -> Fault | None:
        if self.outcome is not None:
            return self.outcome[1] if self.outcome[0] == "fault" else None
        return None if self.status is None else Died(self.status)


def run_ranks(
    target: Callable[..., Any], args: tuple[Any, ...], world_size: int, timeout_s: float | None = None, spawn: bool = False
) -> list[Any]:
    """Calls ``target(rank, world_size, *args)`` in ``world_size`` rank processes; returns the results
    by rank, or raises :class:`RankError`. ``spawn`` starts fresh interpreters instead of forks
    (``target`` and ``args`` are then pickled, so ``target`` must be importable)."""
    timeout_s = DEFAULT_TIMEOUT_S if timeout_s is None else float(timeout_s)
    started = time.monotonic()
    ranks: list[_Rank] = []
    board: mmap.mmap | None = None
    progress_board: mmap.mmap | None = None
    # Anonymous files (no name, so nothing is left behind even when the worker is killed): the
    # ranks' stack dumps, and the case for spawned ranks.
    files: list[IO[bytes]] = []
    try:
        port = free_port()
        if spawn:
            case = tempfile.TemporaryFile()
            files.append(case)
            pickle.dump((target, args), case)
            case.flush()
        else:
            import_before_fork()
            board = heartbeat.open_board(world_size)
            progress_board = progress.open_board(world_size)
        sys.stdout.flush()
        sys.stderr.flush()
        with _stack_signal_ignored():
            for rank in range(world_size):
                env = rank_environment(rank, world_size, port)
                dump = tempfile.TemporaryFile()
                files.append(dump)
                if spawn:
                    process = spawn_rank(case.fileno(), rank, world_size, env, dump.fileno())
                else:
                    process = fork_rank(target, args, rank, world_size, env, dump.fileno(), [r.process for r in ranks])
                _live.add(process.pid)
                ranks.append(_Rank(process))
        return _supervise(ranks, world_size, started, timeout_s, board, progress_board)
    finally:
        _end(ranks)
        if board is not None:
            heartbeat.close_board(board)
        if progress_board is not None:
            progress.close_board(progress_board)
        for file in files:
            file.close()


@contextmanager
def _stack_signal_ignored() -> Iterator[None]:
    """Ranks start with SIGUSR1 ignored until faulthandler takes it, so an early dump request cannot kill one."""
    try:
        previous = signal.signal(signal.SIGUSR1, signal.SIG_IGN)
    except ValueError:  # not the main thread: signals cannot be changed here
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGUSR1, signal.SIG_DFL if previous is None else previous)


def _supervise(
    ranks: list[_Rank],
    world_size: int,
    started: float,
    timeout_s: float,
    board: mmap.mmap | None,
    progress_board: mmap.mmap | None,
) -> list[Any]:
    with selectors.DefaultSelector() as selector:
        for rank in ranks:
            selector.register(rank.process.result_fd, selectors.EVENT_READ, rank)
        first_fault: float | None = None
        while True:
            for key, _ in selector.select(POLL_S):
                if not _receive(key.data):
                    selector.unregister(key.fd)
            now = time.monotonic()
            if progress_board is not None:
                progress.relay(progress_board)  # rank 0's epoch and micro-batch, to the harness's progress line
            for rank in ranks:
                _reap(rank, now, wait=False)
            faults = [rank for rank in ranks if rank.fault is not None]
            if faults:
                first_fault = first_fault or now
                if now - first_fault >= FAILURE_SETTLE_S or not any(rank.pending for rank in ranks):
                    raise _fault_error(faults, world_size)
                continue
            finished = [rank for rank in ranks if rank.outcome is not None]
            if len(finished) == len(ranks):
                return _release(ranks)
            grace_over = finished and now - min(rank.at for rank in finished) >= HANG_GRACE_S
            if grace_over or now - started >= timeout_s * TIMEOUT_SHARE:
                raise RankError(_describe_hang(ranks, world_size, timeout_s * TIMEOUT_SHARE, timeout_s))
            if board is not None and now - heartbeat.latest(board, world_size) >= STALL_S:
                raise RankError(_describe_hang(ranks, world_size, now - started, timeout_s, stalled_s=STALL_S))


def _receive(rank: _Rank) -> bool:
    """Reads what the rank sent; False once its result is complete or its pipe is closed."""
    chunk = os.read(rank.process.result_fd, 1 << 20)
    rank.received += chunk
    if len(rank.received) >= RESULT_HEADER.size:
        (size,) = RESULT_HEADER.unpack_from(rank.received)
        if len(rank.received) >= RESULT_HEADER.size + size:
            rank.outcome = pickle.loads(rank.received[RESULT_HEADER.size : RESULT_HEADER.size + size])
            rank.at = time.monotonic()
            return False
    return bool(chunk)


def _reap(rank: _Rank, now: float, wait: bool) -> None:
    """Notices the end of the rank's process, kills what it left in its process group, reaps it."""
    if rank.status is not None:
        return
    if not wait:
        info = os.waitid(os.P_PID, rank.pid, os.WEXITED | os.WNOHANG | os.WNOWAIT)
        if info is None or info.si_pid == 0:
            return
    _kill_group(rank.pid)
    rank.status = os.waitpid(rank.pid, 0)[1]
    _live.discard(rank.pid)
    if rank.outcome is None and rank.process.result_fd >= 0:  # what it sent before it ended may still be in the pipe
        os.set_blocking(rank.process.result_fd, False)
        try:
            while _receive(rank):
                pass
        except BlockingIOError:
            pass
    rank.at = rank.at or now


def _kill_group(pid: int) -> None:
    try:
        os.killpg(pid, signal.SIGKILL)
    except ProcessLookupError:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


def _release(ranks: list[_Rank]) -> list[Any]:
    for rank in ranks:
        os.close(rank.process.release_fd)
        rank.process.release_fd = -1
    deadline = time.monotonic() + EXIT_WAIT_S
    while any(rank.status is None for rank in ranks) and time.monotonic() < deadline:
        time.sleep(POLL_S / 5)
        for rank in ranks:
            _reap(rank, time.monotonic(), wait=False)
    return [rank.outcome[1] for rank in ranks if rank.outcome is not None]


def _end(ranks: list[_Rank]) -> None:
    """Kills and reaps every rank still there, and closes the case's pipes."""
    for rank in ranks:
        _reap(rank, time.monotonic(), wait=True)
        for fd in (rank.process.result_fd, rank.process.release_fd):
            if fd >= 0:
                os.close(fd)


def _fault_error(faults: list[_Rank], world_size: int) -> RankError:
    # A rank that died is the cause; its peers' errors ("connection closed by peer") follow from it.
    died = [rank for rank in faults if isinstance(rank.fault, Died)]
    first = min(died or faults, key=lambda rank: rank.at)
    for rank in faults:
        if rank is not first:
            print(f"accumaudit: also {describe_fault(rank.rank, world_size, rank.fault)}", file=sys.stderr)
    frames = first.fault.frames if isinstance(first.fault, Raised) else ()
    return RankError(describe_fault(first.rank, world_size, first.fault), frames)


def _describe_hang(
    ranks: list[_Rank], world_size: int, waited_s: float, timeout_s: float, stalled_s: float | None = None
) -> str:
    stuck = [rank for rank in ranks if rank.pending]
    for rank in stuck:
        try:
            os.kill(rank.pid, signal.SIGUSR1)
        except ProcessLookupError:
            pass
    sizes: dict[int, int] = {}
    deadline = time.monotonic() + DUMP_WAIT_S
    while time.monotonic() < deadline:
        time.sleep(POLL_S)
        now_sizes = {rank.rank: os.fstat(rank.process.dump_fd).st_size for rank in stuck}
        if all(now_sizes.values()) and now_sizes == sizes:
            break
        sizes = now_sizes
    hung = {rank.rank: Hung(main_thread_stack(_read(rank.process.dump_fd), ENTRY_FUNCTION)) for rank in stuck}
    finished = [rank.rank for rank in ranks if rank.outcome is not None]
    return describe_hang(world_size, hung, finished, waited_s, timeout_s, stalled_s)


def _read(fd: int) -> str:
    return os.pread(fd, os.fstat(fd).st_size, 0).decode("utf-8", errors="replace")
