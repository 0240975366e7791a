"""A trainer is a plain function train(ctx) that runs the whole training: a generator or ``async def``
function (whose call runs none of its body) is an error naming it, and a trainer that raises a
BaseException (KeyboardInterrupt, its own) gets its location like any other exception, the worker
answering its next request."""

import gc
import json
import os
import subprocess
import sys
import warnings

import pytest

from accumaudit_probe import registry
from accumaudit_probe.run import RunError, run_scenario
from accumaudit_probe.worker import error_response
from conftest import parameters_for

TESTS = os.path.dirname(os.path.abspath(__file__))
PACKAGE_ROOT = os.path.dirname(TESTS)
PLAIN = "a trainer is a plain function train(ctx) that runs the whole training"


def a_generator(ctx):
    yield ctx


async def an_async_function(ctx):
    return ctx


async def an_async_generator(ctx):
    yield ctx


def returns_a_generator(ctx):
    return (x for x in range(3))


class ReturnsACoroutine:
    """A callable object whose ``__call__`` is ``async def``: only its result tells."""

    async def __call__(self, ctx):
        return ctx


class Stop(BaseException):
    pass


def interrupted(ctx):
    raise KeyboardInterrupt("stopped")


def stops(ctx):
    raise Stop("its own BaseException")


@pytest.mark.parametrize(
    ("train", "says"),
    [
        (a_generator, "is a generator function"),
        (an_async_function, "is an async function (async def)"),
        (an_async_generator, "is an async generator function"),
        (returns_a_generator, "returned a generator without running it"),
        (ReturnsACoroutine(), "returned a coroutine without running it"),
    ],
)
def test_a_trainer_that_is_no_plain_function_is_an_error_naming_it(train, says, make_scenario, data):
    registry.register("test-shape", train)
    features, labels = data(8)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with pytest.raises(RunError) as failed:
            run_scenario("test-shape", make_scenario(datasetSize=8), features, labels, parameters_for("logistic"))
        gc.collect()
    assert str(failed.value) == f"python:test-shape {says}; {PLAIN}"
    assert error_response(3, failed.value) == {"type": "error", "id": 3, "message": str(failed.value)}
    assert not [w for w in caught if "never awaited" in str(w.message)]


def test_a_base_exception_of_the_trainer_is_that_runs_error_with_its_location(make_scenario, data):
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([TESTS, PACKAGE_ROOT, os.environ.get("PYTHONPATH", "")])}
    features, labels = data(8)

    def run(request_id, trainer):
        return {
            "type": "run",
            "id": request_id,
            "trainer": trainer,
            "scenario": make_scenario(datasetSize=8),
            "dataset": {"features": features, "labels": labels},
            "initialParameters": parameters_for("logistic"),
        }

    requests = [run("k", "test_trainer_shapes:interrupted"), run("s", "test_trainer_shapes:stops")]
    requests.append({"type": "describe", "id": "d", "trainer": "reference"})
    done = subprocess.run(
        [sys.executable, "-m", "accumaudit_probe.worker"],
        input="".join(json.dumps(r) + "\n" for r in requests), capture_output=True, text=True, env=env,
        timeout=120, check=True,
    )
    hello, interrupted_answer, stop_answer, described = (json.loads(line) for line in done.stdout.splitlines())
    assert hello["type"] == "hello"
    assert interrupted_answer["message"].startswith("KeyboardInterrupt: stopped (test_trainer_shapes.py:")
    assert interrupted_answer["traceback"][-1]["function"] == "interrupted"
    assert stop_answer["message"].startswith("Stop: its own BaseException (test_trainer_shapes.py:")
    assert stop_answer["traceback"][-1]["code"] == 'raise Stop("its own BaseException")'
    assert described["type"] == "description"  # the worker lived on
