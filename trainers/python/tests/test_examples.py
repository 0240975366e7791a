"""The runnable examples of API.md (trainers/python/examples/) keep doing what API.md says they do."""

import os
import re
import sys
from collections import Counter

import pytest

from accumaudit_probe.rank_process import import_before_fork
from accumaudit_probe.run import run_scenario
from accumaudit_probe.worker import error_response
from conftest import parameters_for

EXAMPLES = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "examples")
if EXAMPLES not in sys.path:
    sys.path.insert(0, EXAMPLES)


def run(trainer, scenario, data):
    features, labels = data(scenario["datasetSize"])
    return run_scenario(trainer, scenario, features, labels, parameters_for(scenario["model"]), timeout_s=60)


def weights(step):
    f = step["fingerprint"]
    return {(e, s): w for e, s, w in zip(f["epochs"], f["samples"], f["weights"], strict=True)}


def assert_sample_count_weighting(trace, epochs, size):
    seen = Counter()
    for step in trace["steps"]:
        w = weights(step)
        assert all(e == step["epoch"] for e, _ in w)
        assert all(v == pytest.approx(1 / len(w)) for v in w.values())
        seen.update(list(w))
    assert seen == Counter({(e, i): 1 for e in range(epochs) for i in range(size)})


def test_the_correct_loop_weights_every_sample_once_by_its_windows_size(make_scenario, data):
    trace = run("my_correct_loop:train", make_scenario(shuffle=2), data)
    assert len(trace["steps"]) == 8
    assert_sample_count_weighting(trace, 2, 110)


def test_the_broken_loop_leaks_the_tail_into_the_next_epoch(make_scenario, data):
    steps = run("my_broken_loop:train", make_scenario(), data)["steps"]
    assert [s["epoch"] for s in steps] == [0, 0, 0, 1, 1, 1]
    assert sorted(s for (e, s) in weights(steps[3]) if e == 0) == list(range(96, 110))


@pytest.mark.parametrize("function", ["train", "train_by_change"])
def test_the_own_optimizer_example_records_the_steps_of_the_correct_loop(make_scenario, data, function):
    scenario = make_scenario(model="mlp")
    expected = run("my_correct_loop:train", scenario, data)["steps"]
    steps = run(f"my_own_optimizer:{function}", scenario, data)["steps"]
    assert len(steps) == len(expected)
    for step, want in zip(steps, expected, strict=True):
        assert weights(step) == pytest.approx(weights(want), abs=1e-6)
        assert step["body"]["gradient"] == pytest.approx(want["body"]["gradient"], abs=1e-6)


def test_the_failing_loop_is_located_in_its_own_code(make_scenario, data):
    with pytest.raises(KeyError) as failed:
        run("my_failing_loop:train", make_scenario(), data)
    response = error_response(1, failed.value)
    assert re.fullmatch(r"KeyError: 'labels' \(my_failing_loop\.py:\d+ in labels_of\)", response["message"])
    assert [f["function"] for f in response["traceback"]][-2:] == ["train", "labels_of"]


def test_the_data_parallel_example_weights_every_sample_once(make_scenario, data):
    import_before_fork()
    trace = run("my_ddp_loop:train", make_scenario(worldSize=2, datasetSize=21, batchSize=2, accumulation=2), data)
    assert_sample_count_weighting(trace, 2, 21)
