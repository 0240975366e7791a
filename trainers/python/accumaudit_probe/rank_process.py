"""One rank process: how it starts (a fork of the worker, or a fresh interpreter) and what it does.

A rank leads its own process group and ends it (itself, and what its trainer started) when the
worker dies: the kernel's parent-death signal wakes a thread of the rank that does it (lifeline.py;
a worker that sees its harness go kills every rank's process group itself first, worker.py). It
reads nothing from stdin (/dev/null) and writes its prints to stderr, gets torchrun's environment,
registers a faulthandler stack dump on SIGUSR1, and calls ``target(rank, world_size, *args)``. It
names the trainer's children that left its process group, sends the result, or the fault that
ended the trainer, over a pipe as one framed pickle, then waits until the worker closes its release
pipe (every rank is done) before it destroys its process group and exits.
"""

from __future__ import annotations

import faulthandler
import json
import os
import pickle
import signal
import socket
import struct
import sys
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, NoReturn

from . import heartbeat, progress
from .lifeline import escape_warning, escaped_children, watch_parent_death
from .rank_faults import Raised, fault_of_exception

#: The function every rank's main thread runs; it marks that thread in a stack dump.
ENTRY_FUNCTION = "rank_main"
#: A result travels as its pickle's length (8 bytes, little-endian) and the pickle.
RESULT_HEADER = struct.Struct("<Q")

_SPAWN_PROGRAM = (
    "import sys; sys.path[:0] = sys.argv[2:];"
    " from accumaudit_probe.rank_process import spawned_rank; spawned_rank(sys.argv[1])"
)
_keep_out: set[int] = set()


@dataclass
class RankProcess:
    """The worker's handle on a started rank."""

    rank: int
    pid: int
    result_fd: int  # read end of the rank's framed result
    release_fd: int  # write end; closing it lets the rank exit
    dump_fd: int  # an anonymous file the rank's faulthandler writes its stacks to on SIGUSR1


def keep_out_of_ranks(fd: int) -> None:
    """Closes ``fd`` in every forked rank (the worker's protocol channel)."""
    _keep_out.add(fd)


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def rank_environment(rank: int, world_size: int, port: int) -> dict[str, str]:
    """torchrun's variables for one rank on this machine; gloo is kept on the loopback interface."""
    env = {
        "RANK": str(rank),
        "LOCAL_RANK": str(rank),
        "WORLD_SIZE": str(world_size),
        "LOCAL_WORLD_SIZE": str(world_size),
        "MASTER_ADDR": "127.0.0.1",
        "MASTER_PORT": str(port),
    }
    loopback = next((name for _, name in socket.if_nameindex() if name.startswith("lo")), None)
    if loopback and "GLOO_SOCKET_IFNAME" not in os.environ:
        env["GLOO_SOCKET_IFNAME"] = loopback
    return env


def import_before_fork() -> None:
    # DDP's constructor imports torch._dynamo (about 3 s): once in the worker, not in every fork.
    import torch._dynamo  # noqa: F401
    import torch.distributed  # noqa: F401
    import torch.nn.parallel  # noqa: F401


def fork_rank(
    target: Callable[..., Any],
    args: tuple[Any, ...],
    rank: int,
    world_size: int,
    env: dict[str, str],
    dump_fd: int,
    started: list[RankProcess],
) -> RankProcess:
    """Forks rank ``rank``; ``started`` are the ranks forked before it (their files are closed in it)."""
    result_read, result_write = os.pipe()
    release_read, release_write = os.pipe()
    parent = os.getpid()
    pid = os.fork()
    if pid == 0:
        try:
            earlier = [fd for process in started for fd in (process.result_fd, process.release_fd, process.dump_fd)]
            for fd in [result_read, release_write, *_keep_out, *earlier]:
                try:
                    os.close(fd)
                except OSError:
                    pass
            rank_main(target, args, rank, world_size, env, parent, result_write, release_read, dump_fd)
        finally:
            os._exit(70)
    os.close(result_write)
    os.close(release_read)
    try:
        os.setpgid(pid, pid)
    except OSError:
        pass  # the rank has done it already, or has ended
    return RankProcess(rank, pid, result_read, release_write, dump_fd)


def spawn_rank(case_fd: int, rank: int, world_size: int, env: dict[str, str], dump_fd: int) -> RankProcess:
    """Starts rank ``rank`` in a fresh interpreter that reads ``(target, args)`` from the file ``case_fd`` (a pickle)."""
    result_read, result_write = os.pipe()
    release_read, release_write = os.pipe()
    settings = {
        "case": case_fd,
        "rank": rank,
        "worldSize": world_size,
        "parent": os.getpid(),
        "result": result_write,
        "release": release_read,
        "dump": dump_fd,
    }
    passed = (result_write, release_read, case_fd, dump_fd)
    for fd in passed:
        os.set_inheritable(fd, True)
    try:
        pid = os.posix_spawn(
            sys.executable,
            [sys.executable, "-c", _SPAWN_PROGRAM, json.dumps(settings), *sys.path],
            {**os.environ, **env},
            file_actions=[(os.POSIX_SPAWN_OPEN, 0, os.devnull, os.O_RDONLY, 0), (os.POSIX_SPAWN_DUP2, 2, 1)],
            setpgroup=0,
        )
    finally:
        os.close(result_write)
        os.close(release_read)
        os.set_inheritable(case_fd, False)
        os.set_inheritable(dump_fd, False)
    return RankProcess(rank, pid, result_read, release_write, dump_fd)


def spawned_rank(settings_json: str) -> NoReturn:
    """Entry point of a spawned rank (see ``_SPAWN_PROGRAM``)."""
    settings = json.loads(settings_json)
    case_fd = settings["case"]
    target, args = pickle.loads(os.pread(case_fd, os.fstat(case_fd).st_size, 0))
    os.close(case_fd)
    rank, world_size, parent = settings["rank"], settings["worldSize"], settings["parent"]
    rank_main(target, args, rank, world_size, {}, parent, settings["result"], settings["release"], settings["dump"])


def rank_main(
    target: Callable[..., Any],
    args: tuple[Any, ...],
    rank: int,
    world_size: int,
    env: dict[str, str],
    parent: int,
    result_fd: int,
    release_fd: int,
    dump_fd: int,
) -> NoReturn:
    """A rank's whole life, in the rank process; never returns. Its name (:data:`ENTRY_FUNCTION`)
    marks the rank's main thread in stack dumps."""
    code = 0
    try:
        _die_with_parent(parent)
        heartbeat.attach(rank)
        progress.attach(rank)
        os.setpgid(0, 0)
        devnull = os.open(os.devnull, os.O_RDONLY)
        os.dup2(devnull, 0)
        os.close(devnull)
        os.dup2(2, 1)
        sys.stdout = sys.stderr
        os.environ.update(env)
        faulthandler.enable(2)
        faulthandler.register(signal.SIGUSR1, dump_fd, all_threads=True)
        import torch

        torch.set_num_threads(1)  # W ranks share this machine's cores
        try:
            outcome: tuple[str, Any] = ("ok", target(rank, world_size, *args))
        except BaseException as error:  # noqa: BLE001 - every failure of the trainer is reported, frames included
            outcome = ("fault", fault_of_exception(error))
        warning = escape_warning(f"the trainer on rank {rank} of {world_size}", escaped_children(os.getpid(), os.getpgrp()))
        if warning:
            print(warning, file=sys.stderr, flush=True)
        try:
            _send(result_fd, outcome)
            os.read(release_fd, 1)  # end of file: every rank has sent its result (or the worker is gone)
        except OSError as error:  # its pipes were closed under it: a trainer closing descriptors it did not open
            print(f"accumaudit: rank {rank} of {world_size} cannot reach the worker ({type(error).__name__}: {error})",
                  file=sys.stderr)
            code = 70
        if code == 0 and torch.distributed.is_available() and torch.distributed.is_initialized():
            torch.distributed.destroy_process_group()
    except BaseException:  # noqa: BLE001
        traceback.print_exc()
        code = 70
    finally:
        sys.stderr.flush()
        # The worker gone (killed while this rank ran on): nobody else will end what the trainer
        # started in this rank's group, and the parent-death thread may not have had its turn.
        if os.getppid() != parent:
            _end_group()
        _end_others_in_group()  # what the trainer started ends with its rank, whoever ends next
        os._exit(code)


def _die_with_parent(parent: int) -> None:
    """From now on the death of ``parent`` (the worker) ends this rank's process group. A thread
    does it, so it needs the interpreter lock: a trainer holding that lock forever in C code would
    outlive the worker (the worker's own timeouts kill a rank's group from outside)."""
    watch_parent_death(parent, _end_group)


def _end_others_in_group() -> None:
    """Kills every other process of this rank's process group (the children the trainer started
    and left running), when the rank leads its group; Linux (/proc) only."""
    me, group = os.getpid(), os.getpgrp()
    if group != me or not os.path.isdir("/proc"):
        return
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or int(entry) == me:
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as stat:
                fields = stat.read().rsplit(b")", 1)[1].split()
            if int(fields[2]) == group:  # after "pid (comm)": state, ppid, pgrp
                os.kill(int(entry), signal.SIGKILL)
        except (OSError, ValueError, IndexError):
            continue


def _end_group() -> NoReturn:
    """Kills this rank's process group (the rank leads it once rank_main has set it up), then exits."""
    if os.getpgrp() == os.getpid():
        os.killpg(0, signal.SIGKILL)
    os._exit(70)


def _send(fd: int, outcome: tuple[str, Any]) -> None:
    try:
        payload = pickle.dumps(outcome)
    except Exception as error:  # noqa: BLE001 - a result that cannot travel is the trainer's fault
        payload = pickle.dumps(("fault", Raised(type(error).__name__, f"result cannot be pickled: {error}", None)))
    data = memoryview(RESULT_HEADER.pack(len(payload)) + payload)
    while data:
        data = data[os.write(fd, data) :]
    os.close(fd)
