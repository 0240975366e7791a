"""What pytorch-ignite did to the probe, read off its raw traces (CPU, torch 2.13, pytorch-ignite 0.5.5).

``create_supervised_trainer(gradient_accumulation_steps=K)`` counts windows on
``engine.state.iteration``, which runs across epochs: a window is K consecutive micro-batches of
the whole run, so an epoch whose micro-batch count is not a multiple of K hands its last
micro-batches to a step of the next epoch, and the run's last window, if shorter than K, is never
applied. Every micro-batch's mean loss is divided by K, so a sample weighs 1 / (K * |its
micro-batch|), whatever its window holds. Ignite's amp is CUDA float16 only: fp16/bf16 on the CPU
run in fp32, and the adapter says so.
"""

from __future__ import annotations

import logging
import math
from collections import Counter
from functools import cache
from importlib import metadata
from typing import Any

import pytest

from accumaudit_probe.run import run_scenario
from conftest import dataset, logistic_body_gradient, parameters_for, scenario_dict, weights

TRAINER = "ignite"

# Importing ignite (its metrics) runs torch.jit.script, which torch 2.13 deprecates.
pytestmark = pytest.mark.filterwarnings("ignore:`torch.jit.(script|interface)` is deprecated:DeprecationWarning")


def run(**overrides: Any) -> dict[str, Any]:
    s = scenario_dict(**{"model": "fingerprint", **overrides})
    features, labels = dataset(s["datasetSize"])
    return run_scenario(TRAINER, s, features, labels, parameters_for(s["model"]))


@cache
def cached_run(*overrides: tuple[str, Any]) -> dict[str, Any]:
    return run(**dict(overrides))


def micro_batches(n: int, b: int, epochs: int, drop_last: bool = False) -> list[tuple[int, list[int]]]:
    """(epoch, samples) of every micro-batch of the run, unshuffled."""
    stop = n - n % b if drop_last else n
    return [(e, list(range(i, min(i + b, stop)))) for e in range(epochs) for i in range(0, stop, b)]


def ignite_steps(n: int, b: int, k: int, epochs: int, drop_last: bool = False) -> list[dict[tuple[int, int], float]]:
    """Ignite's windows: K consecutive micro-batches of the run; a short last window is dropped; weight 1/(K*|mb|)."""
    run_batches = micro_batches(n, b, epochs, drop_last)
    steps = []
    for start in range(0, len(run_batches) - k + 1, k):
        steps.append({(e, s): 1 / (k * len(mb)) for e, mb in run_batches[start : start + k] for s in mb})
    return steps


def assert_steps(trace: dict[str, Any], expected: list[dict[tuple[int, int], float]]) -> None:
    assert len(trace["steps"]) == len(expected)
    for index, (step, want) in enumerate(zip(trace["steps"], expected, strict=True)):
        assert not step["skipped"]
        got = weights(step)
        assert sorted(got) == sorted(want), f"step {index}: samples differ"
        for key, weight in want.items():
            assert got[key] == pytest.approx(weight, rel=1e-6), f"step {index} {key}"


def test_trace_names_the_framework_and_its_version():
    info = cached_run()["trainer"]
    assert info["name"] == "python:ignite"
    assert info["framework"] == "pytorch-ignite"
    assert info["frameworkVersion"] == metadata.version("pytorch-ignite")
    assert "precision" not in info


@pytest.mark.parametrize(
    ("n", "b", "k", "epochs"), [(110, 8, 4, 2), (110, 8, 4, 1), (1000, 128, 4, 2), (40, 8, 3, 3), (112, 8, 7, 2)]
)
def test_windows_run_across_epochs_and_every_micro_batch_weighs_one_over_k(n, b, k, epochs):
    trace = cached_run(("datasetSize", n), ("batchSize", b), ("accumulation", k), ("epochs", epochs))
    assert_steps(trace, ignite_steps(n, b, k, epochs))
    assert len(trace["steps"]) == math.ceil(n / b) * epochs // k


def test_the_epochs_tail_is_stepped_with_the_next_epochs_first_micro_batches():
    # 14 micro-batches per epoch, K = 4: step 4 holds epoch 1's micro-batches 13-14 and epoch 2's 1-2.
    trace = cached_run()
    assert len(trace["steps"]) == 7
    step = trace["steps"][3]
    assert step["epoch"] == 1
    w = weights(step)
    assert sorted(s for e, s in w if e == 0) == list(range(96, 110))
    assert sorted(s for e, s in w if e == 1) == list(range(16))
    assert w[(0, 96)] == pytest.approx(1 / 32, rel=1e-6)  # 1/14 if the tail had its own window
    assert w[(0, 109)] == pytest.approx(1 / 24, rel=1e-6)
    assert w[(1, 0)] == pytest.approx(1 / 32, rel=1e-6)


def test_the_runs_short_last_window_is_never_applied():
    trace = cached_run(("epochs", 1))
    applied = Counter(key for step in trace["steps"] for key in weights(step))
    assert len(trace["steps"]) == 3
    assert set(applied.values()) == {1}
    assert sorted(s for _, s in applied) == list(range(96))  # 96-109 reached no step


def test_micro_batches_carry_the_epoch_tag_and_count_steps_across_epochs():
    micro = cached_run()["microBatches"]
    assert len(micro) == 2 * 14
    for index, micro_batch in enumerate(micro):
        epoch, position = divmod(index, 14)
        assert micro_batch["epoch"] == epoch
        assert micro_batch["samples"] == list(range(8 * position, min(8 * position + 8, 110)))
        assert micro_batch["stepsBefore"] == index // 4  # not 4 * epoch + position // 4


def test_drop_last_drops_the_short_micro_batch_and_still_crosses_epochs():
    trace = cached_run(("dropLast", True))
    assert_steps(trace, ignite_steps(110, 8, 4, 2, drop_last=True))  # 26 micro-batches: 6 steps, 2 left over
    w = weights(trace["steps"][3])
    assert sorted(s for e, s in w if e == 0) == list(range(96, 104))
    assert sorted(s for e, s in w if e == 1) == list(range(24))


def test_shuffled_epochs_keep_the_seeded_order_and_the_same_windows():
    trace = cached_run(("shuffle", 3))
    orders = [[s for m in trace["microBatches"] if m["epoch"] == e for s in m["samples"]] for e in range(2)]
    assert sorted(orders[0]) == sorted(orders[1]) == list(range(110))
    assert orders[0] != list(range(110)) and orders[0] != orders[1]
    run_batches = [(m["epoch"], m["samples"]) for m in trace["microBatches"]]
    expected = [{(e, s): 1 / (4 * len(mb)) for e, mb in run_batches[i : i + 4] for s in mb} for i in range(0, 28, 4)]
    assert_steps(trace, expected)


@pytest.mark.parametrize("precision", ["fp16", "bf16"])
def test_mixed_precision_on_cpu_trains_in_fp32_and_says_so(precision, caplog):
    with caplog.at_level(logging.WARNING, logger="accumaudit_probe.adapters.with_ignite"):
        trace = run(precision=precision, model="mlp", datasetSize=40, epochs=1)
    assert trace["trainer"]["precision"] == "fp32"
    assert any(f"precision {precision} on cpu runs in fp32" in r.getMessage() for r in caplog.records)
    fp32 = cached_run(("model", "mlp"), ("datasetSize", 40), ("epochs", 1))
    assert [s["body"]["gradient"] for s in trace["steps"]] == [s["body"]["gradient"] for s in fp32["steps"]]


def test_body_gradient_is_the_fingerprint_weighted_sum_of_sample_gradients():
    # The thin adapter keeps BCEWithLogitsLoss's mean: grad of sample i is (sigmoid(w.x_i + b) - y_i) * (x_i, 1).
    trace = cached_run(("model", "logistic"))
    features, labels = dataset(110)
    for index, step in enumerate(trace["steps"]):
        expected = logistic_body_gradient(step, features, labels)
        assert step["body"]["gradient"] == pytest.approx(expected, rel=1e-4, abs=1e-6), f"step {index}"


def test_an_epoch_without_micro_batches_is_refused_by_ignite():
    # drop_last with N < B: Engine.run raises on a zero-length loader (ignite/engine/engine.py).
    with pytest.raises(ValueError, match="Input data has zero size"):
        run(datasetSize=3, batchSize=8, dropLast=True, epochs=1)
