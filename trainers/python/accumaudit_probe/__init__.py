"""accumaudit probe: the probe model, the step recorder and the worker for PyTorch trainers.

Exports load on first access, so ``python -m accumaudit_probe.worker`` can report a missing torch.
"""

from importlib import import_module
from typing import Any

_EXPORTS = {
    "RunContext": "context",
    "ProbeDataset": "probe",
    "ProbeModel": "probe",
    "ProbeOutput": "probe",
    "Recorder": "recorder",
    "distributed": "registry",
    "register": "registry",
    "register_reset": "registry",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'accumaudit_probe' has no attribute {name!r}")
    return getattr(import_module(f".{module}", __name__), name)
