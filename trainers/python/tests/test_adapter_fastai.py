"""What fastai did to the probe, read off its raw traces (fastai 2.8.12, CPU, torch 2.13).

``Learner.fit(E)`` with ``GradientAccumulation(n_acc=B*K)`` (fastai/callback/training.py):

- every micro-batch's mean loss is divided by ``n_acc / bs``, so every sample weighs ``1 / (B*K)``,
  whatever its window holds;
- it steps once its sample counter reaches ``n_acc`` and then sets the counter to 0 (any excess is
  dropped, not carried);
- the counter runs across epochs and nothing steps at an epoch's end or zeroes the gradient at an
  epoch's start: the epoch's tail joins the next epoch's first step, the last epoch's tail is
  never applied.

``fastai`` (torch SGD through OptimWrapper) and ``fastai-native`` (fastai's SGD, steps recorded
with ``ctx.record_step`` by a callback) give the same trace.
"""

from __future__ import annotations

from functools import cache
from importlib import metadata
from typing import Any

import pytest

from accumaudit_probe import registry
from accumaudit_probe.run import run_scenario
from accumaudit_probe.schedule import scenario_factor, schedule_length
from conftest import dataset, parameters_for, scenario_dict, weights

TRAINERS = ("fastai", "fastai-native")


@cache
def cached_run(trainer: str, *overrides: tuple[str, Any]) -> dict[str, Any]:
    """One run per trainer and scenario for the whole module (the traces are only read)."""
    s = scenario_dict(**{"model": "fingerprint", **dict(overrides)})
    features, labels = dataset(s["datasetSize"])
    return run_scenario(trainer, s, features, labels, parameters_for(s["model"]))


def fastai_steps(n: int, b: int, k: int, epochs: int, drop_last: bool = False) -> list[dict[str, Any]]:
    """The steps GradientAccumulation takes over index-order micro-batches: epoch tag, samples, 1/(B*K) each."""
    n_acc, count, pending, steps = b * k, 0, {}, []
    for epoch in range(epochs):
        for start in range(0, n, b):
            size = min(b, n - start)
            if drop_last and size < b:
                continue
            pending.update({(epoch, sample): 1 / n_acc for sample in range(start, start + size)})
            count += size
            if count >= n_acc:
                steps.append({"epoch": epoch, "weights": pending})
                count, pending = 0, {}
    return steps


def assert_steps_match(trace: dict[str, Any], expected: list[dict[str, Any]]) -> None:
    assert [s["epoch"] for s in trace["steps"]] == [s["epoch"] for s in expected]
    for index, (step, want) in enumerate(zip(trace["steps"], expected, strict=True)):
        assert not step["skipped"], f"step {index} skipped"
        got = weights(step)
        assert sorted(got) == sorted(want["weights"]), f"step {index}: samples differ"
        for key, weight in want["weights"].items():
            assert got[key] == pytest.approx(weight, rel=1e-6), f"step {index} {key}"


def test_both_trainers_are_registered():
    assert set(TRAINERS) <= set(registry.names())


@pytest.mark.parametrize("trainer", TRAINERS)
def test_trace_names_fastai_and_its_version(trainer):
    info = cached_run(trainer)["trainer"]
    assert info["name"] == f"python:{trainer}"
    assert info["framework"] == "fastai"
    assert info["frameworkVersion"] == metadata.version("fastai")
    assert info["device"] == "cpu"
    assert "precision" not in info


@pytest.mark.parametrize("trainer", TRAINERS)
@pytest.mark.parametrize(
    ("n", "b", "k", "epochs", "drop_last"),
    [(110, 8, 4, 2, False), (110, 8, 4, 2, True), (1000, 128, 4, 2, False), (20, 8, 2, 3, False), (64, 8, 4, 2, False)],
)
def test_steps_follow_the_sample_counter(trainer, n, b, k, epochs, drop_last):
    trace = cached_run(
        trainer, ("datasetSize", n), ("batchSize", b), ("accumulation", k), ("epochs", epochs), ("dropLast", drop_last)
    )
    assert_steps_match(trace, fastai_steps(n, b, k, epochs, drop_last))


@pytest.mark.parametrize("trainer", TRAINERS)
def test_110_8_4_the_tail_joins_the_next_epoch_and_the_last_tail_is_lost(trainer):
    steps = cached_run(trainer)["steps"]
    # 3 steps in epoch 1 (micro-batches 1-12), 3 in epoch 2: not 4 + 4.
    assert [s["epoch"] for s in steps] == [0, 0, 0, 1, 1, 1]
    first_of_epoch_2 = weights(steps[3])
    # Epoch 1's tail (micro-batches 13-14: 96-109) and epoch 2's micro-batches 1-3 (0-23): 38 samples, 1/32 each.
    assert sorted(first_of_epoch_2) == [(0, s) for s in range(96, 110)] + [(1, s) for s in range(24)]
    assert all(w == pytest.approx(1 / 32, rel=1e-6) for w in first_of_epoch_2.values())
    applied = {key for step in steps for key in weights(step)}
    assert {(1, s) for s in range(110)} - applied == {(1, s) for s in range(88, 110)}  # never applied
    assert {(0, s) for s in range(110)} <= applied


@pytest.mark.parametrize("trainer", TRAINERS)
def test_a_full_count_at_the_epoch_end_leaves_nothing_behind(trainer):
    # 64 = 2 windows of 32: the counter is 0 at every epoch end, so every step stays in its epoch.
    trace = cached_run(trainer, ("datasetSize", 64))
    assert [s["epoch"] for s in trace["steps"]] == [0, 0, 1, 1]
    for step in trace["steps"]:
        assert {e for e, _ in weights(step)} == {step["epoch"]}


@pytest.mark.parametrize("trainer", TRAINERS)
def test_micro_batches_keep_the_loaders_shuffled_order(trainer):
    shuffled = cached_run(trainer, ("shuffle", 7))["microBatches"]
    reference = cached_run("reference", ("shuffle", 7))["microBatches"]
    assert [(m["epoch"], m["samples"]) for m in shuffled] == [(m["epoch"], m["samples"]) for m in reference]
    epochs = [[s for m in shuffled if m["epoch"] == e for s in m["samples"]] for e in range(2)]
    assert sorted(epochs[0]) == sorted(epochs[1]) == list(range(110))
    assert epochs[0] != epochs[1]  # a new order every epoch


@pytest.mark.parametrize("trainer", TRAINERS)
def test_micro_batches_carry_the_epoch_tag_and_the_steps_before(trainer):
    micro_batches = cached_run(trainer)["microBatches"]
    assert len(micro_batches) == 2 * 14
    for index, micro_batch in enumerate(micro_batches):
        epoch, position = divmod(index, 14)
        assert micro_batch["epoch"] == epoch
        assert micro_batch["samples"] == list(range(8 * position, min(8 * position + 8, 110)))
    # The counter carries over: epoch 2's micro-batches 1-3 feed step 4, the one that holds epoch 1's tail.
    assert [m["stepsBefore"] for m in micro_batches[12:18]] == [3, 3, 3, 3, 3, 4]


def test_native_and_torch_optimizer_give_the_same_trace():
    overrides = (("model", "logistic"), ("shuffle", 3))
    torch_steps = cached_run("fastai", *overrides)["steps"]
    native_steps = cached_run("fastai-native", *overrides)["steps"]
    assert len(torch_steps) == len(native_steps) == 6
    for a, b in zip(torch_steps, native_steps, strict=True):
        assert a["epoch"] == b["epoch"]
        assert a["fingerprint"] == b["fingerprint"]
        assert a["body"]["parametersBefore"] == pytest.approx(b["body"]["parametersBefore"], rel=1e-6, abs=1e-9)
        assert a["body"]["gradient"] == pytest.approx(b["body"]["gradient"], rel=1e-6, abs=1e-9)
    assert torch_steps[1]["body"]["parametersBefore"] != torch_steps[0]["body"]["parametersBefore"]


@pytest.mark.parametrize("trainer", TRAINERS)
def test_fp16_on_the_cpu_runs_and_is_reported_as_fp32(trainer, caplog):
    trace = cached_run.__wrapped__(trainer, ("precision", "fp16"))
    assert trace["trainer"]["precision"] == "fp32"
    assert "runs in fp32" in caplog.text
    assert_steps_match(trace, fastai_steps(110, 8, 4, 2))


@pytest.mark.parametrize("trainer", TRAINERS)
def test_a_second_run_in_the_process_repeats_the_first_and_prints_nothing(trainer, capfd):
    overrides = (("model", "mlp"), ("shuffle", 5))
    first = cached_run.__wrapped__(trainer, *overrides)
    second = cached_run.__wrapped__(trainer, *overrides)
    assert first["steps"] == second["steps"]
    assert first["microBatches"] == second["microBatches"]
    out, err = capfd.readouterr()
    assert out == ""
    assert err == ""


@pytest.mark.parametrize("trainer", TRAINERS)
@pytest.mark.parametrize(("n", "b", "k", "epochs"), [(256, 8, 4, 3), (96, 4, 3, 4)])
def test_param_scheduler_gives_every_step_its_own_rate_on_aligned_windows(trainer, n, b, k, epochs):
    # ParamScheduler sets lr * f(floor(pct * T)) before every micro-batch, pct being fastai's running
    # float sum of 1 / (n_iter * n_epoch): the micro-batch that steps gets the rate of its own step.
    s = scenario_dict(
        model="fingerprint", datasetSize=n, batchSize=b, accumulation=k, epochs=epochs, schedule="linear", warmupSteps=3
    )
    features, labels = dataset(n)
    steps = run_scenario(trainer, s, features, labels, parameters_for("fingerprint"))["steps"]
    total = schedule_length(s)
    assert len(steps) == total
    rates = [step["update"].get("learningRate") for step in steps]
    expected = [0.1 * scenario_factor(s, index, total) for index in range(total)]
    assert rates[1:] == pytest.approx(expected[1:], rel=1e-9)
    # Warm-up's first step runs at rate 0: read from .grad, its rate recorded.
    assert rates[0] == 0.0
