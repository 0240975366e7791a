"""What mmengine 0.10.7 did to the probe, read off raw traces (CPU, torch 2.13).

``Runner.train`` with ``OptimWrapper(accumulative_counts=K)`` counts micro-batches over the whole
run, not per epoch (``initialize_count_status(model, 0, max_iters)`` with ``max_iters = E *
len(loader)``): it steps after every K-th micro-batch of the run and after the run's last one. So
a window reaches across an epoch boundary whenever an epoch's micro-batches are not a multiple of
K, and its step is taken in the later epoch. Every micro-batch's mean loss is divided by K, except
the run's last ``max_iters % K`` micro-batches, divided by ``max_iters % K``: a sample weighs
1 / (factor * |its micro-batch|), never 1 / |W|.
"""

from __future__ import annotations

import logging
import os
import tempfile
from collections import Counter
from functools import cache
from importlib import metadata
from typing import Any

import pytest

pytest.importorskip("mmengine")

from mmengine.device import get_device  # noqa: E402

from accumaudit_probe import registry  # noqa: E402
from accumaudit_probe.run import run_scenario  # noqa: E402
from conftest import dataset, logistic_body_gradient, parameters_for, scenario_dict, weights  # noqa: E402

pytestmark = pytest.mark.skipif(get_device() != "cpu", reason="mmengine trains on the GPU it found at import")


def scenario(**overrides: Any) -> dict[str, Any]:
    return scenario_dict(**{"model": "fingerprint", **overrides})


def run(trainer: str = "mmengine", **overrides: Any) -> dict[str, Any]:
    s = scenario(**overrides)
    features, labels = dataset(s["datasetSize"])
    return run_scenario(trainer, s, features, labels, parameters_for(s["model"]))


@cache
def cached_run(*overrides: tuple[str, Any]) -> dict[str, Any]:
    return run(**dict(overrides))


def micro_batch_sizes(n: int, b: int, drop_last: bool) -> list[int]:
    full, rest = divmod(n, b)
    return [b] * full + ([] if drop_last or rest == 0 else [rest])


def mmengine_steps(n: int, b: int, k: int, epochs: int, drop_last: bool = False) -> list[dict]:
    """The steps mmengine was seen to take: windows of K over the run's micro-batches, epochs joined."""
    iters = []  # (epoch, first sample, size) of every micro-batch of the run, in index order
    for epoch in range(epochs):
        start = 0
        for size in micro_batch_sizes(n, b, drop_last):
            iters.append((epoch, start, size))
            start += size
    remainder = len(iters) % k
    steps = []
    for first in range(0, len(iters), k):
        window = iters[first : first + k]
        entries = {}
        for index, (epoch, start, size) in enumerate(window, first):
            factor = k if index < len(iters) - remainder else remainder
            entries.update({(epoch, s): 1 / (factor * size) for s in range(start, start + size)})
        steps.append({"epoch": window[-1][0], "weights": entries})
    return steps


def assert_steps_match(trace: dict[str, Any], expected: list[dict]) -> None:
    assert [s["epoch"] for s in trace["steps"]] == [s["epoch"] for s in expected]
    for index, (step, want) in enumerate(zip(trace["steps"], expected, strict=True)):
        assert not step["skipped"], f"step {index} skipped"
        got = weights(step)
        assert sorted(got) == sorted(want["weights"]), f"step {index}: samples differ"
        for key, weight in want["weights"].items():
            assert got[key] == pytest.approx(weight, rel=1e-6), f"step {index} {key}"


def test_registered_and_named_in_the_trace():
    assert "mmengine" in registry.names()
    info = cached_run()["trainer"]
    assert info["name"] == "python:mmengine"
    assert info["framework"] == "mmengine"
    assert info["frameworkVersion"] == metadata.version("mmengine") == "0.10.7"
    assert info["device"] == "cpu"


@pytest.mark.parametrize(
    ("n", "b", "k", "epochs", "drop_last"),
    [
        (110, 8, 4, 1, False),
        (110, 8, 4, 2, False),
        (110, 8, 4, 3, False),
        (110, 8, 4, 2, True),
        (1000, 128, 4, 1, False),
    ],
)
def test_windows_run_over_the_whole_run_and_only_its_last_is_rescaled(n, b, k, epochs, drop_last):
    overrides = {"datasetSize": n, "batchSize": b, "accumulation": k, "epochs": epochs, "dropLast": drop_last}
    trace = cached_run(*overrides.items())
    assert_steps_match(trace, mmengine_steps(n, b, k, epochs, drop_last))


def test_steps_per_epoch_and_a_window_across_the_epoch_boundary():
    # 14 micro-batches per epoch, K = 4: 28 in the run, 7 steps; the 4th is micro-batches 13-14 of
    # epoch 0 and 1-2 of epoch 1, stepped in epoch 1.
    trace = cached_run()
    assert [s["epoch"] for s in trace["steps"]] == [0, 0, 0, 1, 1, 1, 1]
    crossing = weights(trace["steps"][3])
    assert sorted(s for e, s in crossing if e == 0) == list(range(96, 110))
    assert sorted(s for e, s in crossing if e == 1) == list(range(16))
    assert crossing[(0, 96)] == pytest.approx(1 / 32) and crossing[(0, 109)] == pytest.approx(1 / 24)
    assert crossing[(1, 0)] == pytest.approx(1 / 32)
    micro_batches = trace["microBatches"]
    assert len(micro_batches) == 28
    assert [m["stepsBefore"] for m in micro_batches] == [i // 4 for i in range(28)]
    assert [m["epoch"] for m in micro_batches] == [0] * 14 + [1] * 14


def test_short_tail_of_one_epoch_is_divided_by_its_micro_batch_count():
    # One epoch of 14 micro-batches: 14 % 4 = 2, so the last two are divided by 2, not by 4.
    trace = cached_run(("epochs", 1))
    assert len(trace["steps"]) == 4
    tail = weights(trace["steps"][3])
    assert sorted(s for _, s in tail) == list(range(96, 110))
    assert tail[(0, 96)] == pytest.approx(1 / 16)  # 1 / (2 * 8); 1/14 would be the window's mean
    assert tail[(0, 109)] == pytest.approx(1 / 12)  # 1 / (2 * 6)


def test_every_sample_is_applied_once_but_not_always_in_its_epoch():
    trace = cached_run()
    seen = Counter(key for step in trace["steps"] for key in weights(step))
    assert set(seen.values()) == {1} and len(seen) == 2 * 110
    late = {key for step in trace["steps"] for key in weights(step) if key[0] != step["epoch"]}
    assert late == {(0, s) for s in range(96, 110)}


def test_shuffled_order_is_the_scenario_loaders_order():
    mm = cached_run(("shuffle", 3))
    ref = run("reference", shuffle=3)
    order = [[s for m in t["microBatches"] if m["epoch"] == e for s in m["samples"]] for t in (mm, ref) for e in (0, 1)]
    assert order[0] == order[2] and order[1] == order[3]
    assert order[0] != list(range(110)) and order[0] != order[1]


@pytest.mark.parametrize("precision", ["fp16", "bf16"])
def test_mixed_precision_on_cpu_runs_in_fp32_and_says_so(precision, caplog):
    with caplog.at_level(logging.WARNING, logger="accumaudit_probe.adapters.with_mmengine"):
        trace = run(precision=precision, model="mlp", datasetSize=40, epochs=1)
    fp32 = cached_run(("model", "mlp"), ("datasetSize", 40), ("epochs", 1))
    assert trace["trainer"]["precision"] == "fp32"
    assert [s["body"]["gradient"] for s in trace["steps"]] == [s["body"]["gradient"] for s in fp32["steps"]]
    assert any(f"precision {precision} on cpu runs in fp32" in r.getMessage() for r in caplog.records)


def test_two_runs_in_one_process_are_independent_and_leave_no_state(capsys):
    from mmengine.logging import MessageHub, MMLogger
    from mmengine.registry import DefaultScope
    from mmengine.visualization import Visualizer

    before = set(os.listdir(tempfile.gettempdir()))
    first = run()
    other_k = run(accumulation=3, epochs=1)  # a fresh counter: 14 micro-batches, windows of 3, 5 steps
    second = run()
    assert [s["epoch"] for s in other_k["steps"]] == [0] * 5
    assert weights(other_k["steps"][4])[(0, 109)] == pytest.approx(1 / (2 * 6))
    assert [s["fingerprint"] for s in first["steps"]] == [s["fingerprint"] for s in second["steps"]]
    assert first["microBatches"] == second["microBatches"]
    for manager in (MessageHub, MMLogger, Visualizer, DefaultScope):
        assert not [n for n in manager._instance_dict if n.startswith("accumaudit")], manager.__name__
    assert not {d for d in set(os.listdir(tempfile.gettempdir())) - before if d.startswith("accumaudit-mmengine-")}
    assert capsys.readouterr().out == ""


def test_two_runs_in_the_same_second_share_no_mmengine_instance(monkeypatch, recwarn):
    # mmengine names a Runner's MessageHub, MMLogger, Visualizer and DefaultScope by its start time to
    # the second; a second Runner of that second gets the first's (with a UserWarning "instance named
    # of ... has been created"). The adapter's experiment names are unique per run.
    import mmengine.runner.runner as runner_module

    monkeypatch.setattr(runner_module.time, "strftime", lambda fmt, t=None: "20260101_000000")
    first, second = run(epochs=1), run(epochs=1)
    assert [s["fingerprint"] for s in first["steps"]] == [s["fingerprint"] for s in second["steps"]]
    assert not [w for w in recwarn if "has been created" in str(w.message)]


def test_body_gradient_is_the_fingerprint_weighted_sum_of_sample_gradients():
    trace = cached_run(("model", "logistic"))
    features, labels = dataset(110)
    for index, step in enumerate(trace["steps"]):
        expected = logistic_body_gradient(step, features, labels)
        assert step["body"]["gradient"] == pytest.approx(expected, rel=1e-4, abs=1e-6), f"step {index}"


@pytest.mark.parametrize(
    ("schedule", "warmup"), [("linear", 0), ("cosine", 0), ("step", 0), ("cosine", 2), ("linear", 3), ("constant", 2)]
)
def test_param_scheduler_config_is_the_scenario_schedule_when_stepped_once_per_step(schedule: str, warmup: int) -> None:
    """The adapter's mmengine schedulers (LinearLR with end T + 1, CosineAnnealingLR, StepLR, or
    ScenarioLR under a warm-up) give the scenario's rate at every applied step when stepped once
    per step: the schedule verdict measures mmengine's stepping, not the adapter's configuration."""
    import types

    import torch
    from mmengine.registry import PARAM_SCHEDULERS

    from accumaudit_probe.adapters.with_mmengine import param_scheduler_config
    from accumaudit_probe.schedule import schedule_factor

    total = 8
    ctx = types.SimpleNamespace(schedule=schedule, warmup_steps=warmup, schedule_length=total)
    optimizer = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=0.1)
    (config,) = param_scheduler_config(ctx)  # type: ignore[arg-type]
    scheduler = PARAM_SCHEDULERS.build({**config, "optimizer": optimizer})
    rates = []
    for _ in range(total):
        rates.append(optimizer.param_groups[0]["lr"])
        optimizer.step()
        scheduler.step()
    assert rates == pytest.approx([0.1 * schedule_factor(schedule, s, total, warmup) for s in range(total)], rel=1e-12, abs=1e-15)


def test_param_scheduler_config_is_empty_for_a_constant_rate() -> None:
    import types

    from accumaudit_probe.adapters.with_mmengine import param_scheduler_config

    ctx = types.SimpleNamespace(schedule="constant", warmup_steps=0, schedule_length=8)
    assert param_scheduler_config(ctx) == []  # type: ignore[arg-type]
