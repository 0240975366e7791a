"""The long-lived worker: JSON lines over stdio, as docs/protocol.md describes.

Run as ``python -m accumaudit_probe.worker``. The protocol moves to descriptors of its own at once:
requests are read from a duplicate of the original stdin, messages written to a duplicate of the
original stdout. The trainer gets an empty stdin (/dev/null: ``input()`` meets end of file at once)
and a stdout that is stderr (file descriptor 1 and sys.stdout), so neither a read nor a print of
a trainer, a framework or a C library ever touches the protocol.

The worker ends with the harness: when its parent is gone (lifeline.py) it kills every rank's
process group and its own, wherever the trainer is.
"""

from __future__ import annotations

import json
import os
import platform
import signal
import sys
import traceback
from importlib import metadata
from collections.abc import Callable
from typing import IO, Any, NoReturn

from .lifeline import RequestLines, escape_warning, escaped_children, watch_parent_death
from .setup_script import setup_command

PROTOCOL_VERSION = 1
FRAMEWORK_PACKAGES = ("torch", "lightning", "accelerate", "transformers")


#: Written to stderr, with the request's id, right before each answer (see docs/protocol.md).
STDERR_SYNC = "\x1eaccumaudit-answered "


def claim_protocol_channel() -> tuple[int, IO[str]]:
    """Moves the protocol off the standard descriptors: returns a descriptor on the original stdin
    (the requests) and a writer on the original stdout (the messages), both kept from children
    that exec, then points stdin (fd 0) at /dev/null and stdout (fd 1 and sys.stdout) at stderr."""
    sys.stdout.flush()
    requests = os.dup(0)
    channel = os.fdopen(os.dup(1), "w", encoding="utf-8", buffering=1)
    empty = os.open(os.devnull, os.O_RDONLY)
    os.dup2(empty, 0)  # sys.stdin reads fd 0: /dev/null from now on
    os.close(empty)
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    return requests, channel


def end_with_harness() -> NoReturn:
    """The harness is gone and nobody can read an answer: names the trainer's processes that left
    its process group, kills every rank's process group (ranks.py) and this worker's own (when it
    leads one, as the harness starts it), and exits. Runs in a thread of lifeline.py."""
    ranks = sys.modules.get(f"{__package__}.ranks")
    live = frozenset(ranks.live_ranks()) if ranks is not None else frozenset()
    try:
        warning = escape_warning("the trainer", escaped_children(os.getpid(), os.getpgrp(), live))
        if warning:
            print(f"{warning} (the harness is gone; the worker ends)", file=sys.stderr, flush=True)
    except Exception:  # noqa: BLE001 - a stderr nobody reads any more; ending comes first
        pass
    if ranks is not None:
        ranks.kill_every_rank()
    if os.getpgrp() == os.getpid():
        os.killpg(0, signal.SIGKILL)
    os._exit(70)


def warn_escaped(trainer: str) -> None:
    """After a run: names the trainer's children (in this process) that left its process group and still run."""
    ranks = sys.modules.get(f"{__package__}.ranks")
    leave_out = frozenset(ranks.live_ranks()) if ranks is not None else frozenset()
    warning = escape_warning(f"trainer {trainer}", escaped_children(os.getpid(), os.getpgrp(), leave_out))
    if warning:
        print(warning, file=sys.stderr)


def framework_versions() -> dict[str, str]:
    """Installed versions of the frameworks the worker can drive, read without importing them."""
    versions: dict[str, str] = {}
    for package in FRAMEWORK_PACKAGES:
        try:
            versions[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            pass
    return versions


def encode(message: dict[str, Any]) -> str:
    """One protocol line; raises ValueError on a bare non-finite float (they must travel as strings)."""
    return json.dumps(message, allow_nan=False, separators=(",", ":")) + "\n"


class ChannelClosed(Exception):
    """The protocol channel takes no more messages: its descriptor was closed (a trainer that closes
    descriptors it did not open) or its reader is gone."""


def send(channel: IO[str], message: dict[str, Any] | str) -> None:
    line = message if isinstance(message, str) else encode(message)
    try:
        channel.write(line)
        channel.flush()
    except (OSError, ValueError) as error:  # ValueError: a closed file object
        raise ChannelClosed(f"{type(error).__name__}: {error}") from None


class MissingDependency(Exception):
    """A module the worker itself needs (not the trainer) is not installed for this interpreter."""


def import_run_module() -> Any:
    """accumaudit_probe.run, or MissingDependency naming what this interpreter lacks and the fix."""
    try:
        from . import run
    except ModuleNotFoundError as error:
        raise MissingDependency(
            f"the worker needs the Python package {error.name!r}, missing for {sys.executable}; "
            f"run `{setup_command()}`"
        ) from error
    return run


def handle_run(request: dict[str, Any], channel: IO[str] | None = None) -> dict[str, Any]:
    """The trace of a run request, encoded for the wire. With ``"progress": true`` in the request,
    progress messages go to ``channel`` while the run trains (progress.py)."""
    run_scenario = import_run_module().run_scenario
    import torch

    from .probe import FEATURES
    from .wire import encode_trace, unpack, unpack_array

    dataset = request["dataset"]
    features = dataset["features"]
    if isinstance(features, dict):  # packed row by row: one [N, 3] tensor, no Python list per row
        features = torch.frombuffer(unpack_array(features), dtype=torch.float64).reshape(-1, FEATURES)
    trace = run_scenario(
        trainer=request["trainer"],
        scenario=request["scenario"],
        features=features,
        labels=unpack(dataset["labels"]),
        initial_parameters=unpack(request["initialParameters"]),
        device=request.get("device", "cpu"),
        record=request.get("record", True),
        timeout_s=timeout_seconds(request),
        tokens=dataset.get("tokens"),
        report=progress_sender(request, channel),
    )
    return encode_trace(trace, packed=request.get("encoding", "packed") == "packed")


def progress_sender(request: dict[str, Any], channel: IO[str] | None) -> Callable[[dict[str, Any]], None] | None:
    """What sends the run's progress messages, when the request asks (``"progress": true``): none otherwise."""
    if request.get("progress") is not True or channel is None:
        return None
    request_id = request.get("id")
    return lambda fields: send(channel, {"type": "progress", "id": request_id, **fields})


def timeout_seconds(request: dict[str, Any]) -> float | None:
    """The run request's optional ``timeoutMs``, in seconds."""
    from .run import RunError

    timeout = request.get("timeoutMs")
    if timeout is None:
        return None
    if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or not timeout > 0:
        raise RunError(f"timeoutMs: expected a positive number of milliseconds, saw {timeout!r}")
    return float(timeout) / 1000


def handle_describe(request: dict[str, Any]) -> dict[str, Any]:
    """The description of a trainer: the largest worldSize it runs with, and the step-semantics fields
    it honours."""
    from . import registry
    from .run import RunError, max_world_size

    trainer = request.get("trainer")
    if not isinstance(trainer, str):
        raise RunError(f"trainer: expected a trainer name, saw {trainer!r}")
    world_size = max_world_size() if registry.supports_distributed(trainer) else 1
    return {
        "type": "description",
        "id": request.get("id"),
        "trainer": trainer,
        "maxWorldSize": world_size,
        "stepFields": registry.step_fields_of(trainer),
    }


def error_response(request_id: Any, error: BaseException) -> dict[str, Any]:
    """The error message for a failed request (docs/protocol.md): one line, and ``traceback``, the
    trainer's own frames, when the trainer's code raised (in this process or on a rank)."""
    from .frames import Frame, describe_frame, exception_message, frames_of_exception, trainer_frames, traceback_field
    from .ranks import RankError
    from .registry import TrainerUnavailable
    from .unrecorded import UnrecordedUpdate

    text = exception_message(error)
    frames: tuple[Frame, ...] = ()
    if isinstance(error, MissingDependency):
        return {"type": "error", "id": request_id, "message": text}
    RunError = import_run_module().RunError
    if isinstance(error, RankError):
        frames = error.frames  # the launcher's message names the location already
    elif isinstance(error, (RunError, UnrecordedUpdate)):
        pass  # the worker's own errors read as they are
    else:
        text = f"{type(error).__name__}: {text}" if text else type(error).__name__
        if not isinstance(error, TrainerUnavailable):
            frames = trainer_frames(frames_of_exception(error))
            text += f" ({describe_frame(frames[-1])})" if frames else ""
    message: dict[str, Any] = {"type": "error", "id": request_id, "message": text}
    if frames:
        message["traceback"] = traceback_field(frames)
    return message


def is_expected_failure(error: BaseException) -> bool:
    """Whether ``error`` is one the worker reports in full in its message (a rank's failure, a run
    it refused, an unrecorded update, a trainer it cannot load), as against a fault of its own."""
    from .ranks import RankError
    from .registry import TrainerUnavailable
    from .unrecorded import UnrecordedUpdate

    if isinstance(error, MissingDependency):
        return True
    RunError = import_run_module().RunError
    return isinstance(error, (RankError, RunError, UnrecordedUpdate, TrainerUnavailable))


def main() -> int:
    parent = os.getppid()
    requests, channel = claim_protocol_channel()
    watch_parent_death(parent, end_with_harness)  # before any other thread starts
    lines = RequestLines(requests, parent, end_with_harness)
    try:
        import torch
    except ImportError as error:
        print(
            f"accumaudit worker: cannot import torch with {sys.executable} ({error});"
            f" run {setup_command()}, or pass --python / set ACCUMAUDIT_PYTHON",
            file=sys.stderr,
        )
        return 2

    from . import registry
    from .rank_process import keep_out_of_ranks

    keep_out_of_ranks(channel.fileno())
    keep_out_of_ranks(requests)
    hello: dict[str, Any] = {
        "type": "hello",
        "protocol": PROTOCOL_VERSION,
        "worker": "accumaudit_probe",
        "python": platform.python_version(),
        "trainers": registry.names(),
        "distributed": registry.distributed_names(),
        "frameworks": framework_versions(),
        "cuda": torch.cuda.is_available(),
        "stderrSync": STDERR_SYNC,
    }
    if registry.adapters_error:
        hello["adaptersError"] = registry.adapters_error
    send(channel, hello)
    for line in lines:
        if not line.strip():
            continue
        try:
            request = json.loads(line)
        except json.JSONDecodeError as error:
            send(channel, {"type": "error", "id": None, "message": f"request: expected one JSON object per line ({error})"})
            continue
        kind = request.get("type") if isinstance(request, dict) else None
        if kind == "shutdown":
            return 0
        if kind not in ("run", "describe"):
            send(channel, {"type": "error", "id": request.get("id") if isinstance(request, dict) else None,
                           "message": f"request.type: expected run, describe or shutdown, saw {kind!r}"})
            continue
        request_id = request.get("id")
        try:
            if kind == "describe":
                message: dict[str, Any] | str = encode(handle_describe(request))
            else:
                message = encode({"type": "trace", "id": request_id, "trace": handle_run(request, channel)})
        # Every failure of a request is that request's error: a trainer's KeyboardInterrupt, SystemExit or
        # own BaseException too, with its frames (the harness ends the worker by signal, never by these).
        except BaseException as error:  # noqa: BLE001
            response = error_response(request_id, error)
            if "traceback" not in response and not is_expected_failure(error):
                traceback.print_exc(file=sys.stderr)  # a fault of the worker itself: its stack, for a bug report
            message = response
        if kind == "run":
            warn_escaped(str(request.get("trainer")))
        # What the request printed is on stderr, a pipe of its own: a line after it tells the harness
        # that it has read all of it by the time the answer arrives.
        sys.stderr.write(f"{STDERR_SYNC}{request_id}\n")
        sys.stderr.flush()
        send(channel, message)
    return 0


def run_worker() -> int:
    """:func:`main`; a protocol channel that takes no more messages ends the worker with one line on stderr."""
    try:
        return main()
    except ChannelClosed as error:
        print(f"accumaudit worker: its protocol channel takes no more messages ({error}); ending", file=sys.stderr)
        return 3


if __name__ == "__main__":
    sys.exit(run_worker())
