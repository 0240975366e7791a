"""What went wrong on a rank, as data, and the one-line sentence that says it.

A rank reports its own Python exception (or ``sys.exit``); the launcher sees a rank die (its
exit status) or hang (a faulthandler stack dump). A location names the innermost frame of the
trainer's own code (frames.py says which code that is).
"""

from __future__ import annotations

import os
import re
import signal
from dataclasses import dataclass

from .frames import (
    Frame,
    describe_frame,
    exception_message,
    frames_of_exception,
    innermost_trainer_frame,
    is_trainer_code,
    short_path,
    trainer_frames,
)

#: Exception messages longer than this are cut (a collective's error can run to kilobytes).
MESSAGE_LIMIT = 400

_DUMP_FRAME = re.compile(r'^\s*File "(?P<path>.*)", line (?P<line>\d+) in (?P<function>.*)$')


@dataclass(frozen=True)
class Raised:
    """An exception escaped the trainer on the rank; ``frames``: the trainer's own frames it
    passed through, outermost first (at most frames.TRACEBACK_LIMIT)."""

    kind: str
    message: str
    where: Frame | None
    frames: tuple[Frame, ...] = ()


@dataclass(frozen=True)
class Exited:
    """The trainer called ``sys.exit`` on the rank."""

    code: int | str | None
    where: Frame | None


@dataclass(frozen=True)
class Died:
    """The rank process ended before it sent a result, without a Python error (``os.waitpid`` status)."""

    status: int


@dataclass(frozen=True)
class Hung:
    """The rank was still running when the launcher gave up on it; its main thread's frames, innermost first."""

    stack: tuple[Frame, ...]


Fault = Raised | Exited | Died | Hung


def fault_of_exception(error: BaseException) -> Raised | Exited:
    """The fault an exception escaping the trainer stands for (``SystemExit`` is a call to ``sys.exit``)."""
    frames = frames_of_exception(error)
    where = innermost_trainer_frame(frames)
    if isinstance(error, SystemExit):
        return Exited(error.code, where)
    message = exception_message(error)
    if len(message) > MESSAGE_LIMIT:
        message = message[: MESSAGE_LIMIT - 1] + "…"
    return Raised(type(error).__name__, message, where, trainer_frames(frames))


def main_thread_stack(dump: str, entry_function: str) -> tuple[Frame, ...]:
    """The frames (innermost first) of the thread in a faulthandler dump that runs ``entry_function``,
    else of the dump's first thread."""
    threads: list[list[Frame]] = []
    for line in dump.splitlines():
        if line.startswith(("Thread ", "Current thread ")):
            threads.append([])
        elif (match := _DUMP_FRAME.match(line)) and threads:
            threads[-1].append(Frame(match["path"], int(match["line"]), match["function"]))
    main = next((t for t in threads if any(f.function == entry_function for f in t)), threads[0] if threads else [])
    return tuple(main)


def describe_fault(rank: int, world_size: int, fault: Raised | Exited | Died) -> str:
    """One line for a rank that failed or died."""
    who = f"rank {rank} of {world_size}"
    if isinstance(fault, Raised):
        text = f"{fault.kind}: {fault.message}" if fault.message else fault.kind
        return f"{who} failed: {text}" + (f" ({describe_frame(fault.where)})" if fault.where else "")
    if isinstance(fault, Exited):
        where = f" at {describe_frame(fault.where)}" if fault.where else ""
        if fault.code is None or isinstance(fault.code, int):
            return f"{who} exited with code {fault.code or 0} (sys.exit{where})"
        return f"{who} exited with code 1 (sys.exit({fault.code!r}){where})"
    if os.WIFSIGNALED(fault.status):
        return f"{who} exited with signal {signal.Signals(os.WTERMSIG(fault.status)).name}"
    code = os.waitstatus_to_exitcode(fault.status)
    return f"{who} exited with code {code}" + (" before sending its trace" if code == 0 else "")


def describe_wait(stack: tuple[Frame, ...]) -> str:
    """Where a hung rank waits: ``waiting in all_reduce (torch/...py) called from loop.py:41 in train``."""
    if not stack:
        return "waiting (no stack dump)"
    innermost = stack[0]
    if is_trainer_code(innermost):
        return f"waiting at {describe_frame(innermost)}"
    text = f"waiting in {innermost.function} ({short_path(innermost.path)})"
    caller = innermost_trainer_frame(list(reversed(stack)))
    return text + (f" called from {describe_frame(caller)}" if caller else "")


def _ranks(ranks: list[int]) -> str:
    return ("rank " if len(ranks) == 1 else "ranks ") + ", ".join(str(rank) for rank in ranks)


def describe_hang(
    world_size: int,
    hung: dict[int, Hung],
    finished: list[int],
    waited_s: float,
    timeout_s: float,
    stalled_s: float | None = None,
) -> str:
    """One line for ranks that hung: after others finished, after no rank made progress for
    ``stalled_s``, or when the case's deadline came (``waited_s`` into a case whose timeout is
    ``timeout_s``)."""
    if finished:
        when = f"after {_ranks(finished)} finished"
    elif stalled_s is not None:
        when = f"with no forward pass or step on any rank for {stalled_s:.3g} s"
    else:
        when = f"for {waited_s:.3g} s of the case's {timeout_s:.3g} s timeout"
    if len(hung) == 1:
        ((rank, fault),) = hung.items()
        return f"rank {rank} of {world_size} hung {when}: {describe_wait(fault.stack)}"
    waits = "; ".join(f"rank {rank} {describe_wait(fault.stack)}" for rank, fault in sorted(hung.items()))
    return f"{_ranks(sorted(hung))} of {world_size} hung {when}: {waits}"
