"""accumaudit in your own test suite: check a trainer on a scenario, or audit it, from pytest.

    from accumaudit_probe.testing import assert_passes, assert_audit_passes

    def test_my_loop_uses_every_sample_once():
        assert_passes("python:my_loop:train", dataset_size=110, batch_size=8, accumulation=4, epochs=2)

    def test_my_loop_under_search():
        assert_audit_passes("python:my_loop:train", runs=50, seed=1, accumulation=4)

Trainer names and scenario fields are the command line's: ``dataset_size=110`` is
``--dataset-size 110`` (camelCase keys work too), ``drop_last=True`` is ``--drop-last``, a list is
joined with commas. The run goes through the ``accumaudit`` command (see :func:`command`), with this
interpreter as the worker's (``--python``) and this process's ``sys.path`` on its ``PYTHONPATH``, so
a module your tests import is a trainer the audit can import.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

#: The environment variable naming the command that runs accumaudit (split as a shell would).
COMMAND_VARIABLE = "ACCUMAUDIT_COMMAND"
#: How to install accumaudit, for the error that says it is missing.
INSTALL_HINT = f"install it with `npm install --save-dev accumaudit` (or set {COMMAND_VARIABLE})"


class AccumauditNotFound(RuntimeError):
    """The ``accumaudit`` command cannot be found: nothing to run the check with."""


class AccumauditError(RuntimeError):
    """accumaudit could not judge the trainer (a usage error, a trainer that raised): its one line."""


@dataclass(frozen=True)
class CheckResult:
    """One check's outcome, as ``accumaudit check --json`` gives it."""

    verdict: str
    #: Each property's result (``ok``, ``message`` and its findings), as the JSON output has them.
    properties: dict[str, Any]
    #: The advice for a failing check (mistake id, title, evidence, cause, change).
    advice: list[dict[str, Any]] = field(default_factory=list)
    #: The whole ``--json`` document.
    json: dict[str, Any] = field(default_factory=dict)

    @property
    def passed(self) -> bool:
        return self.verdict == "pass"

    def report(self) -> str:
        """The check in a few lines: the verdict, each property's mark and message, the advice's titles."""
        lines = [f"{self.verdict.upper()}  {self.json.get('trainer', '')}"]
        for name, result in self.properties.items():
            if result.get("applies") is False:
                continue
            lines.append(f"  {'✓' if result.get('ok') else '✗'} {name}: {result.get('message', '')}")
        if self.advice:
            lines.append("  how to fix it:")
            lines += [f"    - {item.get('title', '')}: {item.get('change', '')}" for item in self.advice]
        return "\n".join(lines)


def command() -> list[str]:
    """How to run accumaudit: ``$ACCUMAUDIT_COMMAND``, else ``accumaudit`` on the PATH (a global or
    ``npm exec`` install), else this checkout's ``dist/cli/main.js`` run with ``node``. Raises
    :class:`AccumauditNotFound` saying how to install it."""
    given = os.environ.get(COMMAND_VARIABLE)
    if given:
        return shlex.split(given)
    on_path = shutil.which("accumaudit")
    if on_path:
        return [on_path]
    for folder in Path(__file__).resolve().parents:
        script = folder / "dist" / "cli" / "main.js"
        if script.is_file() and (folder / "package.json").is_file():
            node = shutil.which("node")
            if node:
                return [node, str(script)]
    raise AccumauditNotFound(f"accumaudit: command not found; {INSTALL_HINT}")


def scenario_flags(scenario: dict[str, Any]) -> list[str]:
    """Command-line flags of scenario fields given as keyword arguments (snake_case or camelCase)."""
    flags: list[str] = []
    for key, value in scenario.items():
        if value is None or value is False:
            continue
        flag = "--" + re.sub(r"(?<=[a-z0-9])([A-Z])", r"-\1", key).replace("_", "-").lower()
        if value is True:
            flags.append(flag)
        elif isinstance(value, list | tuple):
            flags += [flag, ",".join(str(v) for v in value)]
        else:
            flags += [flag, str(value)]
    return flags


def _run(arguments: list[str], timeout: float | None) -> dict[str, Any]:
    """Runs accumaudit with ``--json`` and returns its document; one line of error for exit 2."""
    environment = dict(os.environ)
    paths = [p for p in sys.path if p] + [environment.get("PYTHONPATH", "")]
    environment["PYTHONPATH"] = os.pathsep.join(p for p in paths if p)
    done = subprocess.run(
        [*command(), *arguments, "--json", "--python", sys.executable],
        capture_output=True,
        text=True,
        env=environment,
        timeout=timeout,
        check=False,
    )
    if done.returncode not in (0, 1):
        lines = (done.stderr.strip() or done.stdout.strip() or f"exit {done.returncode}").splitlines()
        raise AccumauditError(lines[-1] if lines else f"accumaudit exited with {done.returncode}")
    try:
        return json.loads(done.stdout)
    except json.JSONDecodeError:
        raise AccumauditError(f"accumaudit printed no JSON (exit {done.returncode}): {done.stdout[:200]!r}") from None


def _result(document: dict[str, Any]) -> CheckResult:
    if document.get("verdict") == "error":
        raise AccumauditError(str(document.get("error", "the trainer could not be checked")))
    return CheckResult(
        verdict=str(document.get("verdict")),
        properties=dict(document.get("properties") or {}),
        advice=list(document.get("advice") or []),
        json=document,
    )


def check(trainer: str, *, timeout: float | None = 600, **scenario: Any) -> CheckResult:
    """Checks ``trainer`` on one scenario (``accumaudit check``) and returns the outcome; raises
    :class:`AccumauditError` when it could not be judged."""
    return _result(_run(["check", "--trainer", trainer, *scenario_flags(scenario)], timeout))


def assert_passes(trainer: str, *, timeout: float | None = 600, **scenario: Any) -> CheckResult:
    """Checks ``trainer`` on one scenario; raises AssertionError with the report when a property fails."""
    result = check(trainer, timeout=timeout, **scenario)
    if not result.passed:
        raise AssertionError(result.report())
    return result


def assert_audit_passes(
    trainer: str, *, runs: int = 100, seed: int | None = None, timeout: float | None = 1800, **pins: Any
) -> dict[str, Any]:
    """Runs ``accumaudit audit`` on ``trainer`` (``runs`` generated scenarios, ``pins`` held) and
    raises AssertionError with the shrunk counterexample and its replay command when one fails.
    Returns the trainer's part of the audit's JSON."""
    arguments = ["audit", "--trainer", trainer, "--runs", str(runs), *scenario_flags(pins)]
    if seed is not None:
        arguments += ["--seed", str(seed)]
    document = _run(arguments, timeout)
    [audit] = document.get("trainers") or [None]
    if audit is None:
        raise AccumauditError(f"accumaudit audited nothing: {json.dumps(document)[:200]}")
    if audit.get("verdict") == "pass":
        return audit
    counterexample = audit.get("counterexample")
    lines = [f"FAIL  {trainer}: {audit.get('verdict')} after {audit.get('casesRun')} generated scenarios"]
    if counterexample:
        lines.append(_result(counterexample["result"]).report())
        lines.append(f"  replay: {counterexample.get('replay', '')}")
    for regression in audit.get("regressions") or []:
        if regression.get("verdict") != "pass":
            lines.append(_result(regression).report() if regression.get("verdict") != "error" else str(regression.get("error")))
    if audit.get("error"):
        lines.append(f"  error: {audit['error']}")
    raise AssertionError("\n".join(lines))
