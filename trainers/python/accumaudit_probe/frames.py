"""Where in the trainer's own code something happened: frames, and which of them are the trainer's.

The trainer's own code is every file that is not a library (torch, a framework, the standard
library: anything under site-packages or the stdlib folder) and not this package's machinery
(the worker, the launcher, the run, the context, the recorder); the loops and adapters shipped in
this package count as trainer code. A location names the innermost frame of that code.
"""

from __future__ import annotations

import os
import site
import sysconfig
import traceback
from dataclasses import dataclass
from typing import Any

#: The most frames an error's traceback carries (the innermost ones when there are more).
TRACEBACK_LIMIT = 20

_PACKAGE = os.path.dirname(os.path.realpath(__file__))


@dataclass(frozen=True)
class Frame:
    """One Python frame: file path, line, function and (when known) its source line, stripped."""

    path: str
    line: int
    function: str
    code: str = ""


def _library_roots() -> tuple[str, ...]:
    paths = sysconfig.get_paths()
    roots = {paths[key] for key in ("stdlib", "platstdlib", "purelib", "platlib") if key in paths}
    roots.update(site.getsitepackages())
    # Longest first, so site-packages wins over the stdlib folder that contains it.
    return tuple(sorted({os.path.join(os.path.realpath(root), "") for root in roots}, key=len, reverse=True))


_LIBRARY_ROOTS = _library_roots()


def _library_root(path: str) -> str | None:
    real = os.path.realpath(path)
    return next((root for root in _LIBRARY_ROOTS if real.startswith(root)), None)


def is_trainer_code(frame: Frame) -> bool:
    """True for the trainer's own code: not a library, not this package's machinery."""
    if frame.path.startswith("<"):
        return False
    real = os.path.realpath(frame.path)
    if real.startswith(os.path.join(_PACKAGE, "")):
        return os.path.dirname(real) != _PACKAGE
    return _library_root(real) is None


def short_path(path: str) -> str:
    """A library file relative to its site-packages or stdlib folder, any other file by its name."""
    root = _library_root(path)
    return os.path.relpath(os.path.realpath(path), root) if root else os.path.basename(path)


def describe_frame(frame: Frame) -> str:
    """``loop.py:41 in train``."""
    return f"{short_path(frame.path)}:{frame.line} in {frame.function}"


def innermost_trainer_frame(frames: list[Frame]) -> Frame | None:
    """The innermost frame of trainer code in ``frames`` (ordered outermost first), if any."""
    return next((frame for frame in reversed(frames) if is_trainer_code(frame)), None)


def frames_of_exception(error: BaseException) -> list[Frame]:
    """The frames an exception passed through, outermost first, with their source lines."""
    return [
        Frame(f.filename, f.lineno or 0, f.name, (f.line or "").strip())
        for f in traceback.extract_tb(error.__traceback__)
    ]


def trainer_frames(frames: list[Frame], limit: int = TRACEBACK_LIMIT) -> tuple[Frame, ...]:
    """The trainer's own frames among ``frames`` (outermost first), at most ``limit``: the innermost ones."""
    own = [frame for frame in frames if is_trainer_code(frame)]
    return tuple(own[-limit:]) if limit > 0 else ()


def traceback_field(frames: tuple[Frame, ...]) -> list[dict[str, Any]]:
    """The error message's ``traceback`` (docs/protocol.md): ``{file, line, function, code}`` per frame."""
    return [{"file": f.path, "line": f.line, "function": f.function, "code": f.code} for f in frames]
