"""accumaudit_probe.testing: the pytest helper, its flags, its errors, and the example test file run as a user runs it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from accumaudit_probe import testing
from accumaudit_probe.testing import AccumauditError, AccumauditNotFound, assert_passes, check, scenario_flags

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def test_scenario_fields_become_the_command_lines_flags():
    assert scenario_flags(
        {"dataset_size": 110, "batchSize": 8, "drop_last": True, "shuffle": False, "lengths": [3, 1], "ema": None}
    ) == ["--dataset-size", "110", "--batch-size", "8", "--drop-last", "--lengths", "3,1"]


def test_the_command_comes_from_the_variable_then_the_path_then_the_checkout(monkeypatch):
    monkeypatch.setenv(testing.COMMAND_VARIABLE, "npx --no accumaudit")
    assert testing.command() == ["npx", "--no", "accumaudit"]
    monkeypatch.delenv(testing.COMMAND_VARIABLE)
    monkeypatch.setattr(testing.shutil, "which", lambda name: "/opt/bin/accumaudit" if name == "accumaudit" else None)
    assert testing.command() == ["/opt/bin/accumaudit"]
    monkeypatch.setattr(testing.shutil, "which", lambda name: "/usr/bin/node" if name == "node" else None)
    node, script = testing.command()
    assert node == "/usr/bin/node" and script.endswith("dist/cli/main.js")


def test_a_missing_command_says_in_one_line_how_to_install_it(monkeypatch):
    monkeypatch.delenv(testing.COMMAND_VARIABLE, raising=False)
    monkeypatch.setattr(testing.shutil, "which", lambda name: None)
    with pytest.raises(AccumauditNotFound, match=r"^accumaudit: command not found; install it with `npm install --save-dev accumaudit`"):
        testing.command()


def test_a_check_that_cannot_run_raises_its_one_line():
    with pytest.raises(AccumauditError, match=r"--dataset-size: expected at least 1, saw 0"):
        check("python:reference", dataset_size=0, batch_size=1, accumulation=1)


def test_assert_passes_returns_the_result_and_fails_with_the_report():
    result = assert_passes("python:reference", dataset_size=20, batch_size=4, accumulation=2, epochs=2)
    assert result.passed and result.properties["coverage"]["ok"]
    with pytest.raises(AssertionError, match=r"(?s)FAIL .*✗ coverage.*how to fix it:"):
        assert_passes("python:docs-loop", dataset_size=20, batch_size=4, accumulation=4, epochs=2)


def test_the_example_test_file_passes_as_a_user_runs_it():
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(EXAMPLES / "test_with_accumaudit.py")],
        capture_output=True,
        text=True,
        cwd=EXAMPLES.parent,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    assert "4 passed" in done.stdout
