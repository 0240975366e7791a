"""Where in the trainer's own code something happened: frames, and which of them are the trainer's.

The trainer's own code is every file that is not a library and not this package's machinery (the
worker, the launcher, the run, the context, the recorder); the loops and adapters shipped in this
package count as trainer code. A location names the innermost frame of that code.

A file is a library's when the most specific of these folders that holds it (by the path the
interpreter reports, or by that path with its symlinks resolved) is a library folder:

- library folders: the standard library, every site-packages folder (``site``'s, and any folder
  named ``site-packages`` or ``dist-packages`` on sys.path), every folder a .pth file in a
  site-packages folder adds, and the top-level packages and modules that an installed
  distribution's RECORD lists (``pip install --target``, a folder of wheels on PYTHONPATH);
- the user's folders: those an editable install's .pth file adds (its distribution's
  direct_url.json says editable, PEP 610; or setuptools' ``__editable__.*.pth``, or the legacy
  ``easy-install.pth``), and every other sys.path entry (PYTHONPATH, the working folder).

A file in none of them (a script, a module loaded by path) is the user's.
"""

from __future__ import annotations

import json
import os
import site
import sys
import sysconfig
import traceback
from dataclasses import dataclass
from functools import cache
from importlib import metadata
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


@dataclass(frozen=True)
class _Root:
    """A folder (``prefix`` ends with a separator) or a module file whose code is a library's or
    the user's; ``base``: the folder a library file is shown relative to, in the same form."""

    prefix: str
    base: str
    library: bool

    def holds(self, path: str) -> bool:
        return path.startswith(self.prefix)


def _forms(path: str) -> set[str]:
    """``path`` as given (made absolute) and with its symlinks resolved."""
    return {os.path.abspath(path), os.path.realpath(path)}


def _folder_roots(folder: str, library: bool) -> list[_Root]:
    return [_Root(os.path.join(form, ""), form, library) for form in _forms(folder)]


def _within(path: str, roots: list[_Root]) -> bool:
    return any(root.holds(os.path.join(form, "")) for form in _forms(path) for root in roots)


def _site_folders() -> list[str]:
    """The folders whose .pth files the interpreter reads: site's site-packages and the user's."""
    folders = list(getattr(site, "getsitepackages", list)())
    user_site = getattr(site, "getusersitepackages", lambda: None)()
    return [*folders, *([user_site] if isinstance(user_site, str) else [])]


def _library_folders() -> list[str]:
    """The standard library, site's folders and any site-packages folder on sys.path (PYTHONPATH)."""
    paths = sysconfig.get_paths()
    named = [p for p in sys.path if os.path.basename(os.path.normpath(p or ".")) in ("site-packages", "dist-packages")]
    return [*(paths[k] for k in ("stdlib", "platstdlib", "purelib", "platlib") if k in paths), *_site_folders(), *named]


def _read(distribution: metadata.Distribution, name: str) -> str:
    try:
        return distribution.read_text(name) or ""
    except (OSError, UnicodeDecodeError):
        return ""


def _is_editable(distribution: metadata.Distribution) -> bool:
    """PEP 610: the installer recorded an editable install in direct_url.json."""
    try:
        direct_url = json.loads(_read(distribution, "direct_url.json") or "{}")
    except ValueError:
        return False
    return isinstance(direct_url, dict) and bool((direct_url.get("dir_info") or {}).get("editable"))


def _recorded(distribution: metadata.Distribution) -> list[str]:
    """The paths a distribution's RECORD lists, relative to its location (none for an .egg-info)."""
    return [line.split(",", 1)[0].strip('"') for line in _read(distribution, "RECORD").splitlines() if line]


def _pth_folders(site_folder: str) -> list[tuple[str, str]]:
    """(.pth file, folder it adds) for every .pth file in ``site_folder``, read as ``site`` reads them."""
    try:
        names = sorted(name for name in os.listdir(site_folder) if name.endswith(".pth"))
    except OSError:
        return []
    added = []
    for name in names:
        pth = os.path.join(site_folder, name)
        try:
            with open(pth, encoding="utf-8", errors="replace") as lines:
                entries = [line.rstrip() for line in lines]
        except OSError:
            continue
        for entry in entries:
            folder = os.path.join(site_folder, entry)
            if entry and not entry.startswith(("#", "import ", "import\t")) and os.path.isdir(folder):
                added.append((pth, folder))
    return added


def _distribution_roots(distribution: metadata.Distribution) -> list[_Root]:
    """The top-level packages and modules that a distribution's RECORD lists, each a library."""
    location = str(distribution.locate_file(""))
    roots = []
    for top in {path.split("/", 1)[0] + ("/" if "/" in path else "") for path in _recorded(distribution)}:
        name = top.rstrip("/")
        if name in ("", "..", "__pycache__") or name.endswith((".dist-info", ".data")):
            continue
        for form in _forms(os.path.join(location, name)):
            roots.append(_Root(os.path.join(form, "") if top.endswith("/") else form, os.path.dirname(form), True))
    return roots


@cache
def _roots() -> tuple[_Root, ...]:
    """Every folder or module whose code is a library's or the user's, the most specific first."""
    libraries = [root for folder in _library_folders() for root in _folder_roots(folder, True)]
    users: list[_Root] = []
    distributions = list(metadata.distributions())
    editable = [d for d in distributions if _is_editable(d)]
    editable_pth = {
        os.path.realpath(str(d.locate_file(path))) for d in editable for path in _recorded(d) if path.endswith(".pth")
    }
    for site_folder in _site_folders():
        for pth, folder in _pth_folders(site_folder):
            name = os.path.basename(pth)
            if os.path.realpath(pth) in editable_pth or name.startswith("__editable__.") or name == "easy-install.pth":
                if not _within(folder, libraries):  # an egg installed under site-packages stays a library
                    users += _folder_roots(folder, False)
            else:
                libraries += _folder_roots(folder, True)
    for distribution in distributions:
        if distribution not in editable and not _within(str(distribution.locate_file("")), libraries):
            libraries += _distribution_roots(distribution)  # pip install --target, a folder on PYTHONPATH
    for entry in sys.path:
        if os.path.isdir(entry or ".") and not _within(entry or ".", libraries):
            users += _folder_roots(entry or ".", False)
    # Longest first: the most specific folder decides (a library, of two the same).
    return tuple(sorted({*libraries, *users}, key=lambda root: (len(root.prefix), root.library), reverse=True))


def _library_root(path: str) -> tuple[str, _Root] | None:
    """The library folder or module that holds ``path`` (as given or resolved), with that form of it."""
    for form in sorted(_forms(path)):
        root = next((root for root in _roots() if form == root.prefix or root.holds(form)), None)
        if root is not None and root.library:
            return form, root
    return None


def is_trainer_code(frame: Frame) -> bool:
    """True for the trainer's own code: not a library, not this package's machinery."""
    if frame.path.startswith("<"):
        return False
    real = os.path.realpath(frame.path)
    if real.startswith(os.path.join(_PACKAGE, "")):
        return os.path.dirname(real) != _PACKAGE
    return _library_root(frame.path) is None


def short_path(path: str) -> str:
    """A library file relative to its site-packages or stdlib folder, any other file by its name."""
    found = _library_root(path)
    return os.path.relpath(found[0], found[1].base) if found else os.path.basename(path)


def describe_frame(frame: Frame) -> str:
    """``loop.py:41 in train``."""
    return f"{short_path(frame.path)}:{frame.line} in {frame.function}"


def innermost_trainer_frame(frames: list[Frame]) -> Frame | None:
    """The innermost frame of trainer code in ``frames`` (ordered outermost first), if any."""
    return next((frame for frame in reversed(frames) if is_trainer_code(frame)), None)


def exception_message(error: BaseException) -> str:
    """``str(error)`` on one line; for an exception whose ``__str__`` itself raises, what Python's
    own traceback shows, ``<exception str() failed>``, and the error it raised."""
    try:
        text = str(error)
    except Exception as problem:  # noqa: BLE001 - the trainer's __str__ may raise anything
        try:
            text = f"<exception str() failed: {type(problem).__name__}: {problem}>"
        except Exception:  # noqa: BLE001 - and so may that error's
            text = "<exception str() failed>"
    return " ".join(text.split())


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
