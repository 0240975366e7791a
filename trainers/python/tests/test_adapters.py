"""What the real frameworks did to the probe, read off their raw traces (CPU, torch 2.13).

Observed with lightning 2.6.6, accelerate 1.15.0 and transformers 5.24.0 (requirements.txt).
Every framework steps once per window of K micro-batches and once more for the epoch's tail
window, zeroes the gradient after each step, and never lets a window reach into the next epoch.
They differ in how a window's samples are weighted:

- lightning, accelerate: every micro-batch's mean loss divided by K, the tail window included,
  so a tail sample weighs 1 / (K * |its micro-batch|) instead of 1 / |W|;
- hf-trainer (mean loss): divided by the number of micro-batches in the window, so a sample
  weighs 1 / (micro-batches in W * |its micro-batch|): a short last micro-batch is over-weighted;
- hf-trainer-items (num_items_in_batch): every sample weighs 1 / |W|;
- hf-trainer-kwargs (mean loss, forward takes **kwargs): HF takes the loss as already normalised
  and divides it by nothing, so a sample weighs 1 / |its micro-batch|, K times too much.
"""

from __future__ import annotations

import logging
import math
from collections import Counter
from functools import cache
from importlib import metadata
from typing import Any

import pytest

from accumaudit_probe import registry
from accumaudit_probe.adapters.framework_state import reset_framework_state
from accumaudit_probe.run import run_scenario
from conftest import dataset, logistic_body_gradient, parameters_for, scenario_dict, weights

ADAPTERS = ("lightning", "accelerate", "hf-trainer", "hf-trainer-items", "hf-trainer-kwargs")
FRAMEWORKS = {
    "lightning": "lightning",
    "accelerate": "accelerate",
    "hf-trainer": "transformers",
    "hf-trainer-items": "transformers",
    "hf-trainer-kwargs": "transformers",
}


def scenario(**overrides: Any) -> dict[str, Any]:
    return scenario_dict(**{"model": "fingerprint", **overrides})


def run(trainer: str, **overrides: Any) -> dict[str, Any]:
    s = scenario(**overrides)
    features, labels = dataset(s["datasetSize"])
    return run_scenario(trainer, s, features, labels, parameters_for(s["model"]))


@cache
def cached_run(trainer: str, *overrides: tuple[str, Any]) -> dict[str, Any]:
    """One run per trainer and scenario for the whole module (the traces are only read)."""
    return run(trainer, **dict(overrides))


def micro_batch_sizes(n: int, b: int, drop_last: bool) -> list[int]:
    full, rest = divmod(n, b)
    return [b] * full + ([] if drop_last or rest == 0 else [rest])


def windows_of(sizes: list[int], k: int) -> list[list[int]]:
    return [sizes[i : i + k] for i in range(0, len(sizes), k)]


def observed_weight(trainer: str, window: list[int], micro_batch: int, k: int) -> float:
    """The weight each framework was seen to give a sample of ``micro_batch`` samples in ``window``."""
    if trainer in ("lightning", "accelerate"):
        return 1 / (k * micro_batch)
    if trainer == "hf-trainer":
        return 1 / (len(window) * micro_batch)
    if trainer == "hf-trainer-kwargs":
        return 1 / micro_batch
    return 1 / sum(window)


def expected_steps(trainer: str, n: int, b: int, k: int, epochs: int, drop_last: bool = False) -> list[dict]:
    """Per step: epoch, samples (index order) and the weight of each, as the framework was seen to do."""
    steps = []
    for epoch in range(epochs):
        start = 0
        for window in windows_of(micro_batch_sizes(n, b, drop_last), k):
            entries = {}
            for size in window:
                for sample in range(start, start + size):
                    entries[(epoch, sample)] = observed_weight(trainer, window, size, k)
                start += size
            steps.append({"epoch": epoch, "weights": entries})
    return steps


def assert_steps_match(trace: dict[str, Any], expected: list[dict]) -> None:
    assert [s["epoch"] for s in trace["steps"]] == [s["epoch"] for s in expected]
    for index, (step, want) in enumerate(zip(trace["steps"], expected, strict=True)):
        assert not step["skipped"], f"step {index} skipped"
        got = weights(step)
        assert sorted(got) == sorted(want["weights"]), f"step {index}: samples differ"
        for key, weight in want["weights"].items():
            assert got[key] == pytest.approx(weight, rel=1e-6), f"step {index} {key}"


def test_every_adapter_is_registered():
    assert set(ADAPTERS) <= set(registry.names())


@pytest.mark.parametrize("trainer", ADAPTERS)
def test_trace_names_the_framework_and_its_version(trainer):
    info = cached_run(trainer)["trainer"]
    assert info["name"] == f"python:{trainer}"
    assert info["framework"] == FRAMEWORKS[trainer]
    assert info["frameworkVersion"] == metadata.version(FRAMEWORKS[trainer])
    assert info["device"] == "cpu"


@pytest.mark.parametrize("trainer", ADAPTERS)
@pytest.mark.parametrize(("n", "b", "k"), [(110, 8, 4), (1000, 128, 4)])
def test_steps_windows_and_weights_in_index_order(trainer, n, b, k):
    trace = cached_run(trainer, ("datasetSize", n), ("batchSize", b), ("accumulation", k))
    assert_steps_match(trace, expected_steps(trainer, n, b, k, epochs=2))


# The tail window's weights, spelled out: (first sample of the tail window, last sample) -> weight.
TAIL_WEIGHTS = {
    ("lightning", 110): {96: 1 / 32, 109: 1 / 24},
    ("accelerate", 110): {96: 1 / 32, 109: 1 / 24},
    ("hf-trainer", 110): {96: 1 / 16, 109: 1 / 12},
    ("hf-trainer-items", 110): {96: 1 / 14, 109: 1 / 14},
    ("hf-trainer-kwargs", 110): {96: 1 / 8, 109: 1 / 6},
    ("lightning", 1000): {512: 1 / 512, 999: 1 / 416},
    ("accelerate", 1000): {512: 1 / 512, 999: 1 / 416},
    ("hf-trainer", 1000): {512: 1 / 512, 999: 1 / 416},
    ("hf-trainer-items", 1000): {512: 1 / 488, 999: 1 / 488},
    ("hf-trainer-kwargs", 1000): {512: 1 / 128, 999: 1 / 104},
}


@pytest.mark.parametrize(("trainer", "n"), sorted(TAIL_WEIGHTS))
def test_tail_window_is_applied_in_its_epoch_with_the_seen_weights(trainer, n):
    b = 8 if n == 110 else 128
    trace = cached_run(trainer, ("datasetSize", n), ("batchSize", b))
    per_epoch = math.ceil(math.ceil(n / b) / 4)
    for epoch in range(2):
        tail = weights(trace["steps"][(epoch + 1) * per_epoch - 1])
        assert {e for e, _ in tail} == {epoch}
        for sample, weight in TAIL_WEIGHTS[(trainer, n)].items():
            assert tail[(epoch, sample)] == pytest.approx(weight, rel=1e-6)


@pytest.mark.parametrize("trainer", ADAPTERS)
def test_no_gradient_leaks_across_steps_or_epochs(trainer):
    trace = cached_run(trainer)
    seen = Counter()
    for step in trace["steps"]:
        w = weights(step)
        assert {e for e, _ in w} == {step["epoch"]}
        seen.update(w.keys())
    assert set(seen.values()) == {1}
    assert len(seen) == 2 * 110


@pytest.mark.parametrize("trainer", ADAPTERS)
def test_micro_batches_carry_the_epoch_tag_and_the_step_they_feed(trainer):
    trace = cached_run(trainer)
    micro_batches = trace["microBatches"]
    assert len(micro_batches) == 2 * 14
    for index, micro_batch in enumerate(micro_batches):
        epoch, position = divmod(index, 14)
        assert micro_batch["epoch"] == epoch
        assert micro_batch["samples"] == list(range(8 * position, min(8 * position + 8, 110)))
        assert micro_batch["stepsBefore"] == 4 * epoch + position // 4


# drop_last: 13 full micro-batches; the last window holds one of them.
DROP_LAST_TAIL_WEIGHT = {
    "lightning": 1 / 32,
    "accelerate": 1 / 32,
    "hf-trainer": 1 / 8,
    "hf-trainer-items": 1 / 8,
    "hf-trainer-kwargs": 1 / 8,
}


@pytest.mark.parametrize("trainer", ADAPTERS)
def test_drop_last_drops_the_short_micro_batch_and_steps_the_one_micro_batch_window(trainer):
    trace = cached_run(trainer, ("dropLast", True))
    assert_steps_match(trace, expected_steps(trainer, 110, 8, 4, epochs=2, drop_last=True))
    tail = weights(trace["steps"][3])
    assert sorted(s for _, s in tail) == list(range(96, 104))
    assert all(w == pytest.approx(DROP_LAST_TAIL_WEIGHT[trainer], rel=1e-6) for w in tail.values())


# Shuffled: every epoch's weights as a multiset {weight: samples with it}.
SHUFFLED_WEIGHTS = {
    "lightning": {1 / 32: 104, 1 / 24: 6},
    "accelerate": {1 / 32: 104, 1 / 24: 6},
    "hf-trainer": {1 / 32: 96, 1 / 16: 8, 1 / 12: 6},
    "hf-trainer-items": {1 / 32: 96, 1 / 14: 14},
    "hf-trainer-kwargs": {1 / 8: 104, 1 / 6: 6},
}


@pytest.mark.parametrize("trainer", ADAPTERS)
def test_shuffled_epochs_cover_every_sample_once_with_the_same_weighting(trainer):
    trace = cached_run(trainer, ("shuffle", 3))
    orders = []
    for epoch in range(2):
        entries = [w for step in trace["steps"] if step["epoch"] == epoch for w in weights(step).items()]
        assert sorted(s for (e, s), _ in entries) == list(range(110))
        assert {e for (e, _), _ in entries} == {epoch}
        counts = Counter(round(w, 6) for _, w in entries)
        assert counts == {round(w, 6): c for w, c in SHUFFLED_WEIGHTS[trainer].items()}
        orders.append([s for m in trace["microBatches"] if m["epoch"] == epoch for s in m["samples"]])
    assert orders[0] != list(range(110))
    assert orders[0] != orders[1]


def test_accelerate_state_is_reset_between_scenarios():
    # Without the reset, Accelerate refuses a second Accelerator with another mixed_precision.
    assert len(run("accelerate", precision="bf16", epochs=1)["steps"]) == 4
    assert len(run("accelerate", accumulation=2, epochs=1)["steps"]) == 7
    assert len(run("hf-trainer", accumulation=3, epochs=1)["steps"]) == 5
    from accelerate.state import AcceleratorState, GradientState

    reset_framework_state()
    assert AcceleratorState._shared_state == {}
    assert GradientState._shared_state == {}


def body_gradients(trainer: str, precision: str) -> list[list[float]]:
    trace = cached_run(trainer, ("precision", precision), ("model", "mlp"), ("datasetSize", 40), ("epochs", 1))
    assert all(not s["skipped"] and "lossScale" not in s for s in trace["steps"])
    return [s["body"]["gradient"] for s in trace["steps"]]


@pytest.mark.parametrize("trainer", ADAPTERS)
def test_bf16_on_cpu_runs_under_autocast_and_keeps_the_fingerprint_weights(trainer):
    fp32 = body_gradients(trainer, "fp32")
    bf16 = body_gradients(trainer, "bf16")
    assert bf16 != fp32
    assert bf16[0] == pytest.approx(fp32[0], rel=2e-2, abs=1e-3)
    base = cached_run(trainer, ("precision", "fp32"), ("model", "mlp"), ("datasetSize", 40), ("epochs", 1))
    mixed = cached_run(trainer, ("precision", "bf16"), ("model", "mlp"), ("datasetSize", 40), ("epochs", 1))
    assert [s["fingerprint"] for s in mixed["steps"]] == [s["fingerprint"] for s in base["steps"]]


def test_lightning_fp16_on_cpu_falls_back_to_bf16():
    assert body_gradients("lightning", "fp16") == body_gradients("lightning", "bf16")


def test_lightning_fp16_on_cpu_records_that_it_ran_bf16():
    """The probe model sees Lightning's bf16 autocast in every forward pass; the adapter says nothing."""
    trace = run("lightning", precision="fp16", model="mlp", datasetSize=40, epochs=1)
    assert trace["trainer"]["precision"] == "bf16"
    assert "forwardPrecisions" not in trace["trainer"]
    assert "precision" not in run("lightning", precision="bf16", model="mlp", datasetSize=40, epochs=1)["trainer"]


@pytest.mark.parametrize("trainer", ["accelerate", "hf-trainer", "hf-trainer-items", "hf-trainer-kwargs"])
def test_accelerate_based_fp16_on_cpu_trains_in_fp32_and_says_so(trainer, caplog):
    """The probe model sees the fp32 forward passes (no adapter tells it); the adapter's warning explains them."""
    with caplog.at_level(logging.WARNING, logger="accumaudit_probe.adapters.framework_state"):
        trace = run(trainer, precision="fp16", model="mlp", datasetSize=40, epochs=1)
    assert [s["body"]["gradient"] for s in trace["steps"]] == body_gradients(trainer, "fp32")
    assert any("precision fp16 on cpu runs in fp32" in r.getMessage() for r in caplog.records)
    assert trace["trainer"]["precision"] == "fp32"
    assert "forwardPrecisions" not in trace["trainer"]


@pytest.mark.parametrize("trainer", ["accelerate", "hf-trainer"])
def test_accelerate_based_bf16_on_cpu_runs_bf16_autocast(trainer):
    trace = cached_run(trainer, ("precision", "bf16"), ("model", "mlp"), ("datasetSize", 40), ("epochs", 1))
    assert "precision" not in trace["trainer"] and "forwardPrecisions" not in trace["trainer"]


@pytest.mark.parametrize("trainer", ADAPTERS)
def test_body_gradient_is_the_fingerprint_weighted_sum_of_sample_gradients(trainer):
    # Logistic body: grad of sample i's loss is (sigmoid(w.x_i + b) - y_i) * (x_i, 1).
    trace = cached_run(trainer, ("model", "logistic"))
    features, labels = dataset(110)
    for index, step in enumerate(trace["steps"]):
        expected = logistic_body_gradient(step, features, labels)
        assert step["body"]["gradient"] == pytest.approx(expected, rel=1e-4, abs=1e-6), f"step {index}"
