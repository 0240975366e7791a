"""Errors in the trainer's own code: one line ending with the innermost frame of that code, and the
error message's ``traceback`` (the trainer's frames, outermost first, at most 20); the worker's own
errors carry none."""

import json
import os
import subprocess
import sys

import pytest
import torch

from accumaudit_probe import distributed, registry
from accumaudit_probe.frames import TRACEBACK_LIMIT
from accumaudit_probe.rank_faults import fault_of_exception
from accumaudit_probe.rank_process import import_before_fork
from accumaudit_probe.ranks import RankError
from accumaudit_probe.run import run_scenario
from accumaudit_probe.worker import error_response
from conftest import parameters_for

TESTS = os.path.dirname(os.path.abspath(__file__))
PACKAGE_ROOT = os.path.dirname(TESTS)


def failure(trainer, scenario, data):
    """The worker's error message for a run of ``trainer`` that fails."""
    features, labels = data(scenario["datasetSize"])
    with pytest.raises(Exception) as failed:
        run_scenario(trainer, scenario, features, labels, parameters_for(scenario["model"]), timeout_s=60)
    response = error_response(7, failed.value)
    assert "\n" not in response["message"]
    return response


def read_key(batch):
    return batch["missing_key"]


def missing_key(ctx):
    for batch in ctx.make_loader():
        read_key(batch)


def recurse(depth):
    if depth == 0:
        raise RecursionError("too deep for the test")
    return recurse(depth - 1)


def deep(ctx):
    recurse(30)


def changes_without_a_step(ctx):
    with torch.no_grad():
        ctx.model.fingerprint += 1


def line_of(function, text):
    """The line number of the first line of ``function``'s source that contains ``text``."""
    code = function.__code__
    with open(code.co_filename) as source:
        lines = source.read().splitlines()
    return next(i + 1 for i in range(code.co_firstlineno - 1, len(lines)) if text in lines[i])


def test_an_error_in_the_trainer_ends_with_its_location_and_carries_its_frames(make_scenario, data):
    registry.register("test-missing-key", missing_key)
    response = failure("test-missing-key", make_scenario(), data)
    line = line_of(read_key, 'batch["missing_key"]')
    assert response["message"] == f"KeyError: 'missing_key' (test_errors.py:{line} in read_key)"
    # In this process the test's call of run_scenario is trainer code too; in the worker it is not.
    assert response["traceback"][-2:] == [
        {"file": __file__, "line": line_of(missing_key, "read_key(batch)"), "function": "missing_key", "code": "read_key(batch)"},
        {"file": __file__, "line": line, "function": "read_key", "code": 'return batch["missing_key"]'},
    ]
    assert response["type"] == "error" and response["id"] == 7


def test_the_traceback_keeps_the_innermost_twenty_frames(make_scenario, data):
    registry.register("test-deep", deep)
    response = failure("test-deep", make_scenario(), data)
    frames = response["traceback"]
    assert len(frames) == TRACEBACK_LIMIT == 20
    assert [f["function"] for f in frames] == ["recurse"] * 20
    assert frames[-1]["code"] == 'raise RecursionError("too deep for the test")'
    assert response["message"].endswith(f"(test_errors.py:{frames[-1]['line']} in recurse)")


def test_the_workers_own_errors_have_no_traceback(make_scenario, data):
    registry.register("test-missing-key", missing_key)
    bad_request = failure("test-missing-key", make_scenario(batchSize=0), data)
    assert bad_request["message"].startswith("scenario.batchSize: ") and "traceback" not in bad_request
    refused = failure("test-missing-key", make_scenario(worldSize=2), data)
    assert refused["message"].startswith("trainer test-missing-key: world size 2: expected 1") and "traceback" not in refused
    unavailable = failure("no_such_module_here:train", make_scenario(), data)
    assert unavailable["message"].startswith("TrainerUnavailable: trainer no_such_module_here:train: cannot import module")
    assert "traceback" not in unavailable
    registry.register("test-unseen-update", changes_without_a_step)
    unseen = failure("test-unseen-update", make_scenario(), data)
    assert unseen["message"].startswith("trainer test-unseen-update: the probe model's parameters (fingerprint) changed")
    assert "traceback" not in unseen


@distributed
def missing_key_on_rank_1(ctx):
    ctx.init_process_group()
    if ctx.rank == 1:
        missing_key(ctx)


def test_a_rank_that_raised_carries_its_frames(make_scenario, data):
    import_before_fork()
    registry.register("test-rank-missing-key", missing_key_on_rank_1, distributed=True)
    response = failure("test-rank-missing-key", make_scenario(worldSize=2, datasetSize=8), data)
    line = line_of(read_key, 'batch["missing_key"]')
    assert response["message"] == f"rank 1 of 2 failed: KeyError: 'missing_key' (test_errors.py:{line} in read_key)"
    assert [(f["function"], f["code"]) for f in response["traceback"]] == [
        ("missing_key_on_rank_1", "missing_key(ctx)"),
        ("missing_key", "read_key(batch)"),
        ("read_key", 'return batch["missing_key"]'),
    ]


def test_a_rank_that_exited_has_no_traceback(make_scenario, data):
    import_before_fork()
    features, labels = data(4)
    with pytest.raises(RankError) as failed:
        run_scenario(
            "rank_trainers:sys_exit_on_rank_1", make_scenario(worldSize=2, datasetSize=4), features, labels,
            parameters_for("logistic"), timeout_s=60,
        )
    assert failed.value.frames == ()
    assert "traceback" not in error_response(1, failed.value)


def test_the_worker_sends_the_traceback_on_its_protocol_line(make_scenario, data):
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([TESTS, PACKAGE_ROOT, os.environ.get("PYTHONPATH", "")])}
    features, labels = data(8)
    request = {
        "type": "run",
        "id": "e1",
        "trainer": "test_errors:missing_key",
        "scenario": make_scenario(datasetSize=8),
        "dataset": {"features": features, "labels": labels},
        "initialParameters": parameters_for("logistic"),
    }
    done = subprocess.run(
        [sys.executable, "-m", "accumaudit_probe.worker"],
        input=json.dumps(request) + "\n", capture_output=True, text=True, env=env, timeout=120, check=True,
    )
    hello, answer = (json.loads(line) for line in done.stdout.splitlines())
    assert hello["type"] == "hello"
    assert answer["type"] == "error" and answer["id"] == "e1"
    assert answer["message"].startswith("KeyError: 'missing_key' (test_errors.py:")
    assert [f["function"] for f in answer["traceback"]] == ["missing_key", "read_key"]
    assert all(set(f) == {"file", "line", "function", "code"} for f in answer["traceback"])


class Unprintable(Exception):
    """An exception whose message cannot be made (found by test/fuzz-trainers.test.ts: the worker's
    own str() of it raised, and the worker died with its traceback)."""

    def __str__(self):
        raise RuntimeError("no text")


def test_an_exception_whose_str_raises_is_one_line_saying_so():
    expected = "Unprintable: <exception str() failed: RuntimeError: no text>"
    assert error_response(7, Unprintable())["message"] == expected
    fault = fault_of_exception(Unprintable())
    assert (fault.kind, fault.message) == ("Unprintable", "<exception str() failed: RuntimeError: no text>")
