"""What Keras 3 (torch backend) did to the probe, read off raw traces of ``python:keras`` (CPU).

Observed with keras 3.15.1 and torch 2.13: ``SGD(gradient_accumulation_steps=K)`` steps on every
K-th micro-batch counted since the optimizer was made (``_iterations``, never reset by ``fit``),
applying the sum of the micro-batches' mean-loss gradients / K. So a sample weighs
1 / (K * |its micro-batch|), windows run across epochs, and micro-batches left after the last full
window of the run are never applied. K = 1 (``gradient_accumulation_steps=None``) steps after every
micro-batch. The first run imports Keras (most of this module's time).
"""

from __future__ import annotations

from collections import Counter
from functools import cache
from typing import Any

import pytest

from accumaudit_probe.run import run_scenario
from conftest import dataset, parameters_for, scenario_dict, weights

keras_adapter = pytest.importorskip("accumaudit_probe.adapters.with_keras")


@cache
def cached_run(*overrides: tuple[str, Any]) -> dict[str, Any]:
    """One run of python:keras per scenario for the whole module (fingerprint model unless overridden)."""
    s = scenario_dict(**{"model": "fingerprint", **dict(overrides)})
    features, labels = dataset(s["datasetSize"])
    return run_scenario("keras", s, features, labels, parameters_for(s["model"]))


def keras_steps(n: int, b: int, k: int, epochs: int, drop_last: bool = False) -> list[dict]:
    """Per step: its epoch and {(epoch, sample): weight}, as Keras was seen to do (index order).

    The micro-batches of all epochs form one sequence; every K-th closes a step, weighting each of
    its samples 1 / (K * |micro-batch|); what follows the last full window is never applied.
    """
    full, rest = divmod(n, b)
    sizes = [b] * full + ([] if drop_last or rest == 0 else [rest])
    sequence = []  # (epoch, first sample, size) of every micro-batch, epochs in order
    for epoch in range(epochs):
        start = 0
        for size in sizes:
            sequence.append((epoch, start, size))
            start += size
    steps = []
    for end in range(k, len(sequence) + 1, k):
        window = sequence[end - k : end]
        entries = {(e, s): 1 / (k * size) for e, start, size in window for s in range(start, start + size)}
        steps.append({"epoch": window[-1][0], "weights": entries})
    return steps


def assert_steps(trace: dict[str, Any], expected: list[dict]) -> None:
    assert [s["epoch"] for s in trace["steps"]] == [s["epoch"] for s in expected]
    for index, (step, want) in enumerate(zip(trace["steps"], expected, strict=True)):
        assert not step["skipped"]
        got = weights(step)
        assert sorted(got) == sorted(want["weights"]), f"step {index}: samples differ"
        for key, weight in want["weights"].items():
            assert got[key] == pytest.approx(weight, rel=1e-6), f"step {index} {key}"


def test_trace_names_keras_on_the_torch_backend():
    info = cached_run()["trainer"]
    assert info["name"] == "python:keras"
    assert info["framework"] == "keras"
    assert info["frameworkVersion"] == keras_adapter.keras.__version__
    assert keras_adapter.keras.backend.backend() == "torch"
    assert "precision" not in info  # fp32 ran as fp32


def test_windows_run_across_epochs_110_8_4():
    # 14 micro-batches per epoch, K = 4: 28 in all, 7 steps; the 4th takes epoch 0's last two
    # micro-batches (96-103 at 1/32, 104-109 at 1/24) and epoch 1's first two.
    trace = cached_run()
    assert_steps(trace, keras_steps(110, 8, 4, epochs=2))
    assert [s["epoch"] for s in trace["steps"]] == [0, 0, 0, 1, 1, 1, 1]
    crossing = weights(trace["steps"][3])
    assert {e for e, _ in crossing} == {0, 1}
    assert crossing[(0, 96)] == pytest.approx(1 / 32)
    assert crossing[(0, 109)] == pytest.approx(1 / 24)
    assert crossing[(1, 0)] == pytest.approx(1 / 32)
    # Every sample of both epochs is applied once, but epoch 0's tail in an epoch-1 step.
    seen = Counter(key for step in trace["steps"] for key in weights(step))
    assert len(seen) == 220 and set(seen.values()) == {1}


def test_micro_batches_feed_every_kth_step_counted_over_the_whole_run():
    trace = cached_run()
    micro_batches = trace["microBatches"]
    assert len(micro_batches) == 28
    for index, micro_batch in enumerate(micro_batches):
        epoch, position = divmod(index, 14)
        assert micro_batch["epoch"] == epoch
        assert micro_batch["samples"] == list(range(8 * position, min(8 * position + 8, 110)))
        assert micro_batch["stepsBefore"] == index // 4


def test_short_tail_weighs_one_over_k_times_its_micro_batch():
    # 44 samples, B 8, K 3: micro-batches 8,8,8 | 8,8,4 in each epoch, 2 windows an epoch, none crossing.
    # The tail micro-batch's samples weigh 1/(3*4) = 1/12; the window's own 1/|W| would be 1/20.
    trace = cached_run(("datasetSize", 44), ("accumulation", 3))
    assert_steps(trace, keras_steps(44, 8, 3, epochs=2))
    assert len(trace["steps"]) == 4
    tail = weights(trace["steps"][1])
    assert tail[(0, 24)] == pytest.approx(1 / 24)
    assert tail[(0, 40)] == pytest.approx(1 / 12)


def test_what_follows_the_last_full_window_is_never_applied():
    # One epoch of 110/8/4: 14 micro-batches, 3 steps; micro-batches 13-14 (96-109) stay in Keras'
    # accumulators when fit ends.
    trace = cached_run(("epochs", 1))
    assert_steps(trace, keras_steps(110, 8, 4, epochs=1))
    applied = {s for step in trace["steps"] for _, s in weights(step)}
    assert applied == set(range(96))
    assert [mb["samples"][0] for mb in trace["microBatches"]][-2:] == [96, 104]


def test_drop_last_drops_the_short_micro_batch_and_windows_still_cross():
    # 13 micro-batches per epoch: 26 in all, 6 steps; micro-batches 25-26 (epoch 1, 88-103) never applied.
    trace = cached_run(("dropLast", True))
    assert_steps(trace, keras_steps(110, 8, 4, epochs=2, drop_last=True))
    assert {e for e, _ in weights(trace["steps"][3])} == {0, 1}


def test_k1_steps_after_every_micro_batch():
    # K = 1: gradient_accumulation_steps=None; 10 samples of B 4: steps of 4, 4 and 2 samples, each 1/|micro-batch|.
    trace = cached_run(("datasetSize", 10), ("batchSize", 4), ("accumulation", 1), ("epochs", 1))
    assert_steps(trace, keras_steps(10, 4, 1, epochs=1))
    assert [len(weights(step)) for step in trace["steps"]] == [4, 4, 2]
    assert weights(trace["steps"][2])[(0, 9)] == pytest.approx(1 / 2)


def test_recorded_gradient_is_the_update_keras_applied():
    # Logistic body: each step's parameters minus lr x its recorded gradient are the next step's parameters.
    trace = cached_run(("model", "logistic"), ("learningRate", 0.05))
    steps = trace["steps"]
    assert len(steps) == 7
    for step, following in zip(steps, steps[1:]):
        body, after = step["body"], following["body"]["parametersBefore"]
        for before, gradient, now in zip(body["parametersBefore"], body["gradient"], after, strict=True):
            assert before - 0.05 * gradient == pytest.approx(now, abs=1e-6)
        assert any(g != 0 for g in body["gradient"])


def test_shuffled_epochs_each_see_every_sample_once_in_a_new_order():
    trace = cached_run(("shuffle", 7))
    orders = [[s for mb in trace["microBatches"] if mb["epoch"] == e for s in mb["samples"]] for e in range(2)]
    assert sorted(orders[0]) == sorted(orders[1]) == list(range(110))
    assert orders[0] != orders[1] and orders[0] != list(range(110))
    assert len(trace["steps"]) == 7


def test_fp16_runs_in_fp32_and_says_so(caplog):
    with caplog.at_level("WARNING"):
        trace = cached_run(("precision", "fp16"))
    assert trace["trainer"]["precision"] == "fp32"
    assert "runs in fp32" in caplog.text
    assert_steps(trace, keras_steps(110, 8, 4, epochs=2))


def test_runs_repeat_exactly_in_one_process():
    # Nothing of a run (optimizer counter, accumulators, Keras global state) carries into the next.
    again = cached_run.__wrapped__()
    first = cached_run()
    assert again["steps"] == first["steps"]
    assert again["microBatches"] == first["microBatches"]


def test_keras_imported_with_another_backend_is_refused(monkeypatch):
    monkeypatch.setattr(keras_adapter.keras.backend, "backend", lambda: "jax")
    with pytest.raises(RuntimeError, match="expected the torch backend, saw 'jax'"):
        keras_adapter.import_keras()


# -- step semantics (issue 21), on 128/8/4 x 2: 16 micro-batches an epoch, 8 aligned windows ----


def run_watching_counts(monkeypatch: pytest.MonkeyPatch, **fields: Any) -> tuple[dict[str, Any], list[tuple[int, int]]]:
    """A keras run on 128/8/4 x 2 with ``fields``, and at every update Keras applies its two counters
    as the update reads them: ``(optimizer.iterations, optimizer._iterations)``."""
    counts: list[tuple[int, int]] = []
    record = keras_adapter.record_updates

    def record_and_count(optimizer: Any, ctx: Any) -> None:
        record(optimizer, ctx)
        update = optimizer._backend_update_step

        def counted(*args: Any) -> Any:
            to_int = keras_adapter.keras.ops.convert_to_tensor
            counts.append((int(to_int(optimizer.iterations)), int(to_int(optimizer._iterations))))
            return update(*args)

        optimizer._backend_update_step = counted

    monkeypatch.setattr(keras_adapter, "record_updates", record_and_count)
    s = scenario_dict(datasetSize=128, model="fingerprint", **fields)
    features, labels = dataset(128)
    return run_scenario("keras", s, features, labels, parameters_for("fingerprint")), counts


def test_adamw_counts_applied_steps_in_iterations_which_the_trace_records(monkeypatch):
    # Adam's update reads local_step = iterations + 1 with iterations = _iterations // K: s + 1 at
    # applied step s, the count torch's AdamW keeps. It is a Keras variable, not torch optimizer
    # state: the adapter gives it to ctx.record_step(optimizer_steps=...).
    trace, counts = run_watching_counts(monkeypatch, optimizer="adamw")
    assert [iterations for iterations, _ in counts] == list(range(8))
    assert [raw for _, raw in counts] == [4 * s + 3 for s in range(8)]
    assert [step["optimizerSteps"] for step in trace["steps"]] == list(range(1, 9))
    assert len(trace["steps"]) == 8 and not trace.get("outsideSteps")  # the decay is inside the step


def test_learning_rate_schedule_is_called_with_micro_batches_fed(monkeypatch):
    # _get_current_learning_rate calls the schedule with _iterations, not iterations: step s runs
    # at the schedule's step 4 s + 3; the linear schedule over T = 8 is 0 from step 2 on.
    trace, counts = run_watching_counts(monkeypatch, schedule="linear")
    assert [raw for _, raw in counts] == [4 * s + 3 for s in range(8)]
    rates = [step["update"].get("learningRate") for step in trace["steps"]]
    assert rates[:2] == pytest.approx([0.1 * 5 / 8, 0.1 * 1 / 8])
    assert rates[2:] == [0.0] * 6  # rate 0, recorded: nothing moved, by right
    assert all(not any(step["update"]["fingerprint"]) for step in trace["steps"][2:])
