"""What Poutyne did to the probe, read off its raw traces (CPU, torch 2.13, poutyne 1.19.0).

``fit_generator(batches_per_step=K)`` numbers the batches from 1 in every epoch, zeroes the
gradient at each window's first batch, back-propagates each micro-batch's mean loss times its
sample count and divides the accumulated gradient by the window's sample count before stepping;
after the epoch's last batch it steps the short last window the same way. So there is one step per
window of K micro-batches, the epoch's tail included, every sample of a window weighs 1 / |W|, and
no window crosses an epoch. Poutyne has no mixed precision: fp16/bf16 run in fp32, and the adapter
says so.
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

TRAINER = "poutyne"


def run(**overrides: Any) -> dict[str, Any]:
    s = scenario_dict(**{"model": "fingerprint", **overrides})
    features, labels = dataset(s["datasetSize"])
    return run_scenario(TRAINER, s, features, labels, parameters_for(s["model"]))


@cache
def cached_run(*overrides: tuple[str, Any]) -> dict[str, Any]:
    return run(**dict(overrides))


def poutyne_steps(n: int, b: int, k: int, epochs: int, drop_last: bool = False) -> list[dict]:
    """Per-epoch windows of K micro-batches, the tail flushed; every sample of a window weighs 1/|W|."""
    stop = n - n % b if drop_last else n
    batches = [list(range(i, min(i + b, stop))) for i in range(0, stop, b)]
    steps = []
    for epoch in range(epochs):
        for start in range(0, len(batches), k):
            window = [s for mb in batches[start : start + k] for s in mb]
            steps.append({"epoch": epoch, "weights": {(epoch, s): 1 / len(window) for s in window}})
    return steps


def assert_steps(trace: dict[str, Any], expected: list[dict]) -> None:
    assert [s["epoch"] for s in trace["steps"]] == [s["epoch"] for s in expected]
    for index, (step, want) in enumerate(zip(trace["steps"], expected, strict=True)):
        assert not step["skipped"]
        got = weights(step)
        assert sorted(got) == sorted(want["weights"]), f"step {index}: samples differ"
        for key, weight in want["weights"].items():
            assert got[key] == pytest.approx(weight, rel=1e-6), f"step {index} {key}"


def test_trace_names_the_framework_and_its_version():
    info = cached_run()["trainer"]
    assert info["name"] == "python:poutyne"
    assert info["framework"] == "poutyne"
    assert info["frameworkVersion"] == metadata.version("poutyne")
    assert "precision" not in info


@pytest.mark.parametrize(("n", "b", "k", "epochs"), [(110, 8, 4, 2), (1000, 128, 4, 2), (40, 8, 3, 3), (20, 8, 4, 2)])
def test_one_step_per_window_of_the_epoch_each_sample_weighing_one_over_the_windows_samples(n, b, k, epochs):
    trace = cached_run(("datasetSize", n), ("batchSize", b), ("accumulation", k), ("epochs", epochs))
    assert_steps(trace, poutyne_steps(n, b, k, epochs))
    assert len(trace["steps"]) == math.ceil(math.ceil(n / b) / k) * epochs


def test_the_tail_window_is_applied_in_its_epoch_with_weight_one_over_its_samples():
    trace = cached_run()
    assert len(trace["steps"]) == 8
    for epoch in range(2):
        tail = weights(trace["steps"][4 * epoch + 3])
        assert sorted(tail) == [(epoch, s) for s in range(96, 110)]
        assert all(w == pytest.approx(1 / 14, rel=1e-6) for w in tail.values())


def test_no_gradient_leaks_across_steps_or_epochs():
    seen = Counter()
    for step in cached_run()["steps"]:
        w = weights(step)
        assert {e for e, _ in w} == {step["epoch"]}
        seen.update(w.keys())
    assert set(seen.values()) == {1}
    assert len(seen) == 2 * 110


def test_micro_batches_carry_the_epoch_tag_and_the_step_they_feed():
    micro = cached_run()["microBatches"]
    assert len(micro) == 2 * 14
    for index, micro_batch in enumerate(micro):
        epoch, position = divmod(index, 14)
        assert micro_batch["epoch"] == epoch
        assert micro_batch["samples"] == list(range(8 * position, min(8 * position + 8, 110)))
        assert micro_batch["stepsBefore"] == 4 * epoch + position // 4


def test_drop_last_drops_the_short_micro_batch_and_steps_the_one_micro_batch_window():
    trace = cached_run(("dropLast", True))
    assert_steps(trace, poutyne_steps(110, 8, 4, 2, drop_last=True))
    tail = weights(trace["steps"][3])
    assert sorted(s for _, s in tail) == list(range(96, 104))
    assert all(w == pytest.approx(1 / 8, rel=1e-6) for w in tail.values())


def test_shuffled_epochs_cover_every_sample_once_with_the_same_weighting():
    trace = cached_run(("shuffle", 3))
    orders = []
    for epoch in range(2):
        entries = [w for step in trace["steps"] if step["epoch"] == epoch for w in weights(step).items()]
        assert sorted(s for (_, s), _ in entries) == list(range(110))
        assert Counter(round(w, 6) for _, w in entries) == {round(1 / 32, 6): 96, round(1 / 14, 6): 14}
        orders.append([s for m in trace["microBatches"] if m["epoch"] == epoch for s in m["samples"]])
    assert orders[0] != list(range(110))
    assert orders[0] != orders[1]


@pytest.mark.parametrize("precision", ["fp16", "bf16"])
def test_mixed_precision_trains_in_fp32_and_says_so(precision, caplog):
    with caplog.at_level(logging.WARNING, logger="accumaudit_probe.adapters.with_poutyne"):
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


def test_an_epoch_without_micro_batches_breaks_poutyne():
    # drop_last with N < B: the tail check reads `did_backprop`, never set (poutyne/framework/model.py).
    with pytest.raises(UnboundLocalError, match="did_backprop"):
        run(datasetSize=3, batchSize=8, dropLast=True, epochs=1)
