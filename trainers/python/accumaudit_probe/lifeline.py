"""How the worker notices that the harness is gone, and a rank that the worker is; and how both
name the processes they cannot end.

The harness (or whatever started the worker) may end without a word: a closed terminal (SIGHUP),
SIGKILL, a crash. Two signs reach the worker: on Linux the kernel sends it a parent-death signal
(PR_SET_PDEATHSIG), which a thread of its own waits for, so a main thread deep in a trainer's code
does not have to run a handler; and on every platform its protocol pipe reaches end of file, after
which a thread watches its parent pid. Either way the worker checks that its parent really changed
(a deliberate close of the pipe by a living harness is a shutdown, not a death) and then ends.

A trainer's children that left its process group (``setsid``, ``start_new_session=True``) are out
of reach of the process-group kill that ends everything else: :func:`escaped_children` finds them,
and :func:`escape_warning` names them in one line.
"""

from __future__ import annotations

import ctypes
import os
import signal
import sys
import threading
import time
from collections.abc import Callable
from queue import SimpleQueue
from typing import NoReturn

_PR_SET_PDEATHSIG = 1
#: The signal the kernel sends the worker (or a rank) when its parent dies: a real-time one, which
#: frameworks leave alone, blocked in every thread and taken by :func:`watch_parent_death`'s thread
#: (Linux only).
#: (signal.SIGRTMAX is new in Python 3.11; 64 is its value on Linux.)
PARENT_DEATH_SIGNAL: int | None = getattr(signal, "SIGRTMAX", 64) - 2 if sys.platform.startswith("linux") else None
#: How often a worker whose protocol pipe has closed checks that its parent is still there.
PARENT_POLL_S = 0.5
#: Characters of a process's command line shown in a warning.
COMMAND_LINE_CHARS = 120


def set_parent_death_signal(signum: int) -> bool:
    """Asks the kernel to send ``signum`` to this process when its parent dies (Linux); False elsewhere."""
    if not sys.platform.startswith("linux"):
        return False
    return ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signum) == 0


def watch_parent_death(parent: int, on_gone: Callable[[], NoReturn]) -> None:
    """Calls ``on_gone`` from a thread of its own once the process ``parent`` (this process's
    parent at its start) is no longer its parent; at once when it is not now. Call it from the main
    thread before any other thread starts: the signal is blocked here, and every thread started
    later inherits that (a rank forked by the worker inherits it blocked too)."""
    if PARENT_DEATH_SIGNAL is None:
        if os.getppid() != parent:
            on_gone()
        return
    signum = PARENT_DEATH_SIGNAL
    signal.pthread_sigmask(signal.SIG_BLOCK, {signum})
    set_parent_death_signal(signum)
    if os.getppid() != parent:  # it died before the request took effect
        on_gone()

    def wait() -> None:
        while True:
            # Also sent when the thread that started this process ends while the process lives on;
            # the parent is checked every PARENT_POLL_S as well, a backstop should a signal be missed.
            signal.sigtimedwait({signum}, PARENT_POLL_S)
            if os.getppid() != parent:
                on_gone()

    threading.Thread(target=wait, name="accumaudit-parent-death", daemon=True).start()


class RequestLines:
    """The lines the harness writes to the protocol pipe ``fd``, read by a thread of their own, so
    that the pipe's end is seen while the main thread runs a trainer. Iterating gives each line
    (without its newline) until the pipe ends. After the end the thread checks every
    :data:`PARENT_POLL_S` whether ``parent`` is still this process's parent and calls ``on_gone``
    once it is not; a harness that closed the pipe and lives on gets the answer to the run in
    flight, then the worker exits."""

    def __init__(self, fd: int, parent: int, on_gone: Callable[[], NoReturn]):
        self._fd = fd
        self._parent = parent
        self._on_gone = on_gone
        self._lines: SimpleQueue[str | None] = SimpleQueue()
        threading.Thread(target=self._read, name="accumaudit-protocol-reader", daemon=True).start()

    def __iter__(self) -> RequestLines:
        return self

    def __next__(self) -> str:
        line = self._lines.get()
        if line is None:
            self._lines.put(None)  # every later call ends too
            raise StopIteration
        return line

    def _read(self) -> None:
        pending: list[bytes] = []
        try:
            while chunk := os.read(self._fd, 1 << 20):
                *complete, rest = chunk.split(b"\n")
                for piece in complete:
                    pending.append(piece)
                    self._lines.put(b"".join(pending).decode("utf-8", errors="replace"))
                    pending = []
                if rest:
                    pending.append(rest)
        except OSError:
            pass  # a closed or broken pipe is an end like any other
        if pending:
            self._lines.put(b"".join(pending).decode("utf-8", errors="replace"))
        self._lines.put(None)
        while os.getppid() == self._parent:
            time.sleep(PARENT_POLL_S)
        self._on_gone()


def children(pid: int) -> list[int]:
    """The process ids whose parent is ``pid`` (Linux: /proc); empty where /proc cannot tell."""
    try:
        threads = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return []
    found: list[int] = []
    for thread in threads:
        try:
            with open(f"/proc/{pid}/task/{thread}/children", encoding="ascii") as listing:
                found += [int(child) for child in listing.read().split()]
        except (OSError, ValueError):  # a thread that ended meanwhile, or a kernel without the children file
            continue
    return found


def _group_and_state(pid: int) -> tuple[int, str] | None:
    """A process's process group and state letter (``Z`` for a zombie), from /proc/PID/stat."""
    try:
        with open(f"/proc/{pid}/stat", encoding="utf-8", errors="replace") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
        return int(fields[2]), fields[0]
    except (OSError, IndexError, ValueError):  # a process that ended meanwhile
        return None


def command_line(pid: int) -> str:
    """A process's command line, its arguments joined by spaces, unprintable characters as ``?``."""
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as cmdline:
            words = cmdline.read().rstrip(b"\0").split(b"\0")
    except OSError:
        return "?"
    text = " ".join(word.decode("utf-8", errors="replace") for word in words)
    text = "".join(c if c.isprintable() else "?" for c in text)
    return text if len(text) <= COMMAND_LINE_CHARS else text[: COMMAND_LINE_CHARS - 3] + "..."


def escaped_children(pid: int, group: int, leave_out: frozenset[int] = frozenset()) -> list[tuple[int, str]]:
    """The live children of ``pid`` outside the process group ``group``, but for ``leave_out``:
    (pid, command line) each."""
    escaped = []
    for child in children(pid):
        found = _group_and_state(child)
        if child not in leave_out and found is not None and found[0] != group and found[1] != "Z":
            escaped.append((child, command_line(child)))
    return escaped


def escape_warning(who: str, escaped: list[tuple[int, str]]) -> str | None:
    """One line naming ``escaped`` (:func:`escaped_children`), or None when there are none."""
    if not escaped:
        return None
    listed = ", ".join(f"{pid} ({command})" for pid, command in escaped)
    count = f"{len(escaped)} process{'es' if len(escaped) > 1 else ''}"
    return (
        f"accumaudit: {who} left {count} running outside its process group, which accumaudit"
        f" does not end: {listed}"
    )
