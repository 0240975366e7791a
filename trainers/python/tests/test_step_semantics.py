"""Step semantics (issue 21): the schedule math, what the recorder reads around a step call
(``optimizerSteps``, ``average``, ``update.learningRate``), the probe's overflow, and the
reference loops and examples under clipping, a schedule, an EMA, AdamW and an fp16 overflow."""

from __future__ import annotations

import math
import os
import sys
from collections import Counter
from typing import Any

import pytest
import torch

from accumaudit_probe.context import RunContext
from accumaudit_probe.probe import ProbeDataset, ProbeModel
from accumaudit_probe.rank_process import import_before_fork
from accumaudit_probe.recorder import Recorder
from accumaudit_probe.run import run_scenario
from accumaudit_probe.schedule import SCHEDULES, schedule_factor, schedule_length
from accumaudit_probe.step_state import optimizer_steps
from accumaudit_probe.wire import encode_trace, unpack
from conftest import dataset, parameters_for, scenario_dict, weights

EXAMPLES = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "examples")
if EXAMPLES not in sys.path:
    sys.path.insert(0, EXAMPLES)

#: The small run: N 32, B 4, K 2, 2 epochs of the fingerprint model (4 windows of 8 samples an epoch).
SMALL = {"datasetSize": 32, "batchSize": 4, "accumulation": 2, "epochs": 2, "model": "fingerprint"}


def small(**overrides: Any) -> dict[str, Any]:
    return scenario_dict(**{**SMALL, **overrides})


def run(trainer: str, scenario: dict[str, Any]) -> dict[str, Any]:
    features, labels = dataset(scenario["datasetSize"])
    return run_scenario(trainer, scenario, features, labels, parameters_for(scenario["model"]), timeout_s=120)


def applied(trace: dict[str, Any]) -> list[dict[str, Any]]:
    return [step for step in trace["steps"] if not step["skipped"]]


def expected_rates(scenario: dict[str, Any], count: int) -> list[float]:
    total = schedule_length(scenario)
    kind, warmup = scenario["schedule"], scenario["warmupSteps"]
    return [scenario["learningRate"] * schedule_factor(kind, s, total, warmup) for s in range(count)]


def ema_recursion(steps: list[dict[str, Any]], decay: float, copy_first: bool) -> list[list[float]]:
    """The average's projections after each step call, one update per applied step from the
    recorded ``after``: the first update copies θ (torch's AveragedModel) or starts from θ0."""
    average = None if copy_first else steps[0]["average"]["before"]
    values = []
    for step in steps:
        after = step["average"]["after"]
        if not step["skipped"]:
            average = after if average is None else [decay * a + (1 - decay) * t for a, t in zip(average, after)]
        values.append(average)
    return values


def assert_every_sample_once_per_epoch(trace: dict[str, Any], epochs: int, size: int) -> None:
    seen = Counter(entry for step in applied(trace) for entry in weights(step))
    assert seen == Counter({(e, i): 1 for e in range(epochs) for i in range(size)})


# -- the schedule math ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("schedule", "expected"),
    [
        ("constant", [0.0, 0.5, 1.0, 1.0, 1.0, 1.0]),
        ("linear", [0.0, 0.5, 1.0, 0.75, 0.5, 0.25]),
        ("cosine", [0.0, 0.5, 1.0, 0.5 * (1 + math.cos(math.pi / 4)), 0.5, 0.5 * (1 + math.cos(3 * math.pi / 4))]),
        ("step", [0.0, 0.5, 1.0, 0.9, 0.81, 0.729]),
    ],
)
def test_each_schedule_warms_up_then_runs_over_the_rest(schedule, expected):
    assert [schedule_factor(schedule, s, 6, 2) for s in range(6)] == pytest.approx(expected, abs=1e-15)
    assert schedule_factor(schedule, 0, 6) == 1.0  # no warm-up: the peak at 0


def test_the_schedules_hold_past_their_length_and_refuse_unknown_kinds():
    assert schedule_factor("linear", 9, 6, 2) == 0.0
    assert schedule_factor("cosine", 9, 6, 2) == pytest.approx(0.5 * (1 + math.cos(7 * math.pi / 4)))  # rises again, as transformers'
    assert schedule_factor("linear", 0, 0) == 0.0  # T = 0: max(1, T - w) keeps it finite
    with pytest.raises(ValueError, match="^schedule: expected one of constant, linear, cosine, step, saw 'exp'$"):
        schedule_factor("exp", 0, 6)


@pytest.mark.parametrize(("length", "warmup"), [(10, 0), (10, 3), (7, 7), (1, 0), (12, 20)])
def test_linear_and_cosine_equal_transformers_schedules(length, warmup):
    optimization = pytest.importorskip("transformers.optimization")
    for schedule, make in [
        ("linear", optimization.get_linear_schedule_with_warmup),
        ("cosine", optimization.get_cosine_schedule_with_warmup),
    ]:
        optimizer = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=1.0)
        theirs = make(optimizer, warmup, length).lr_lambdas[0]
        for s in range(length + 3):
            assert schedule_factor(schedule, s, length, warmup) == pytest.approx(theirs(s), abs=1e-12), (schedule, s)


def test_the_step_schedule_is_step_lr_with_gamma_0_9():
    optimizer = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=1.0)
    scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=1, gamma=0.9)
    for s in range(8):
        assert schedule_factor("step", s, 8) == pytest.approx(optimizer.param_groups[0]["lr"], rel=1e-12)
        optimizer.step()
        scheduler.step()


@pytest.mark.parametrize(
    ("overrides", "length"),
    [
        ({}, 8),  # 110 / 8: 14 micro-batches, 4 windows, 2 epochs
        ({"dropLast": True}, 8),  # 13 micro-batches
        ({"datasetSize": 21, "batchSize": 2, "accumulation": 2, "worldSize": 2}, 6),  # 11 a rank: 6 micro-batches
        ({"datasetSize": 21, "batchSize": 2, "accumulation": 2, "worldSize": 2, "dropLast": True}, 6),  # 5
        ({"datasetSize": 20, "batchSize": 4, "accumulation": 3, "worldSize": 3, "epochs": 3}, 3),  # 7 a rank: 2
        ({"sampling": "replacement", "steps": 5, "epochs": 1}, 5),
    ],
)
def test_the_schedule_length_comes_from_the_scenario(overrides, length):
    scenario = scenario_dict(**overrides)
    assert schedule_length(scenario) == length
    context = RunContext(scenario, ProbeDataset(*dataset(scenario["datasetSize"])), ProbeModel(scenario, [0.0] * 4), "cpu")
    assert context.schedule_length == length


def test_the_context_builds_the_scenarios_optimizer_scheduler_and_average():
    scenario = small(optimizer="adamw", schedule="linear", warmupSteps=2, ema=0.9, clipNorm=0.5)
    model = ProbeModel(scenario, [])
    context = RunContext(scenario, ProbeDataset(*dataset(32)), model, "cpu")
    optimizer = context.make_optimizer()
    assert type(optimizer) is torch.optim.AdamW
    group = optimizer.param_groups[0]
    assert (group["lr"], group["betas"], group["eps"], group["weight_decay"]) == (0.1, (0.9, 0.999), 1e-8, 0.01)
    assert type(RunContext(small(), context.dataset, model, "cpu").make_optimizer()) is torch.optim.SGD
    scheduler = context.make_scheduler(optimizer)
    assert [group["lr"], context.schedule_factor(1)] == [0.0, 0.5]
    optimizer.step()
    scheduler.step()
    assert group["lr"] == pytest.approx(0.05)
    assert (context.clip_norm, context.ema_decay, context.schedule_length) == (0.5, 0.9, 8)
    model.observer = print  # a copy leaves the recorder's wiring behind
    average = context.make_ema()
    assert average.module.observer is None and average.module.overflow_step is None
    with pytest.raises(ValueError, match="^make_ema: expected a decay"):
        RunContext(small(), context.dataset, model, "cpu").make_ema()


# -- what the recorder reads around a step call ---------------------------------------------------------


def test_adamw_counts_the_applied_steps_and_sgd_keeps_no_counter():
    steps = run("reference", small(optimizer="adamw"))["steps"]
    assert [step["optimizerSteps"] for step in steps] == list(range(1, 9))
    assert all(step["update"]["rule"] == "other" and step["update"]["learningRate"] == 0.1 for step in steps)
    assert all("optimizerSteps" not in step for step in run("reference", small())["steps"])


def test_the_optimizer_counter_is_read_through_wrappers_and_is_0_before_adams_first_step():
    parameter = torch.nn.Parameter(torch.zeros(2))
    adam = torch.optim.AdamW([parameter])
    assert optimizer_steps(adam, [parameter]) == 0

    class Wrapper:
        optimizer = adam

    parameter.grad = torch.ones(2)
    adam.step()
    adam.step()
    assert optimizer_steps(Wrapper(), [parameter]) == 2
    assert optimizer_steps(torch.optim.SGD([parameter], lr=0.1, momentum=0.9), [parameter]) is None


def test_a_run_without_an_average_records_none_and_nothing_else_changes():
    plain = run("reference", small())
    assert all("average" not in step for step in plain["steps"])
    assert encode_trace(plain)["steps"][0].keys() == {"epoch", "skipped", "fingerprint", "body", "update"}


@pytest.mark.parametrize("model", ["fingerprint", "mlp"])
def test_the_reference_keeps_its_average_one_update_per_applied_step(model):
    decay = 0.9
    steps = run("reference", small(ema=decay, model=model))["steps"]
    averages = [step["average"] for step in steps]
    assert all(len(a["before"]) == len(a["after"]) == len(a["value"]) == 2 for a in averages)
    for previous, following in zip(averages, averages[1:]):
        assert following["before"] == previous["after"]
    assert averages[0]["before"] != averages[0]["after"]
    expected = ema_recursion(steps, decay, copy_first=True)
    for average, value in zip(averages, expected, strict=True):
        assert average["value"] == pytest.approx(value, abs=1e-6)


def test_an_average_updated_per_micro_batch_breaks_the_one_update_recursion():
    decay = 0.9
    steps = run("my_broken_step_loops:ema_per_micro_batch", small(ema=decay))["steps"]
    for copy_first in (True, False):
        expected = ema_recursion(steps, decay, copy_first)
        assert any(s["average"]["value"] != pytest.approx(v, abs=1e-4) for s, v in zip(steps, expected)), copy_first


def test_an_average_that_does_not_exist_yet_leaves_the_steps_without_one():
    scenario = small(epochs=1)
    model = ProbeModel(scenario, [])
    averaged: list[torch.Tensor] = []
    with Recorder(model) as recorder:
        recorder.watch_average(lambda: averaged or None)
        optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
        for step in range(3):
            model.per_sample_loss(torch.zeros(1, 3), torch.zeros(1), torch.tensor([step])).sum().backward()
            optimizer.step()
            optimizer.zero_grad()
            if step == 1:
                averaged.append(model.fingerprint.detach().clone())
    assert ["average" in step for step in recorder.steps] == [False, True, True]
    assert recorder.steps[2]["average"]["value"] == recorder.steps[1]["average"]["after"]


def test_the_new_fields_travel_packed_and_plain():
    trace = run("reference", small(optimizer="adamw", ema=0.5, epochs=1))
    step = trace["steps"][1]
    for packed in (True, False):
        wired = encode_trace(trace, packed=packed)["steps"][1]
        assert wired["optimizerSteps"] == 2
        assert {key: unpack(values) for key, values in wired["average"].items()} == step["average"]


# -- the probe's overflow ---------------------------------------------------------------------------------


def test_the_overflow_window_is_skipped_once_and_the_reference_redoes_it():
    scenario = small(precision="fp16", overflowStep=3, optimizer="adamw", schedule="linear", ema=0.9)
    trace = run("reference", scenario)
    steps = trace["steps"]
    assert [step["skipped"] for step in steps] == [False, False, True, *[False] * 6]
    assert [step["optimizerSteps"] for step in steps] == [1, 2, 2, 3, 4, 5, 6, 7, 8]
    assert steps[3]["lossScale"] == steps[1]["lossScale"] / 2
    assert [step["update"]["learningRate"] for step in applied(trace)] == pytest.approx(expected_rates(scenario, 8))
    assert steps[2]["average"]["value"] == steps[1]["average"]["value"]  # no update after the skipped step
    for step, value in zip(steps, ema_recursion(steps, 0.9, copy_first=True), strict=True):
        assert step["average"]["value"] == pytest.approx(value, abs=1e-6)
    assert_every_sample_once_per_epoch(trace, 2, 32)


def test_without_the_overflow_step_or_outside_fp16_nothing_overflows():
    assert not any(step["skipped"] for step in run("reference", small(precision="fp16"))["steps"])
    assert not any(step["skipped"] for step in run("reference", small(overflowStep=1))["steps"])  # fp32: ignored


def test_the_first_window_can_overflow():
    trace = run("token-reference", small(precision="fp16", overflowStep=1, optimizer="adamw"))
    assert [step["skipped"] for step in trace["steps"]] == [True, *[False] * 8]
    assert trace["steps"][0]["optimizerSteps"] == 0


# -- the reference loops under each field -------------------------------------------------------------------


@pytest.mark.parametrize("warmup", [0, 3])
@pytest.mark.parametrize("schedule", SCHEDULES)
def test_the_reference_steps_at_the_scheduled_rate(schedule, warmup):
    scenario = small(schedule=schedule, warmupSteps=warmup)
    rates = [step["update"]["learningRate"] for step in applied(run("reference", scenario))]
    assert rates == pytest.approx(expected_rates(scenario, 8), abs=1e-15)


@pytest.mark.parametrize(
    ("trainer", "overrides", "count"),
    [
        ("token-reference", {}, 8),
        ("replacement-reference", {"sampling": "replacement", "steps": 5, "epochs": 1}, 5),
        ("ddp-reference", {}, 8),
    ],
)
def test_the_other_reference_loops_step_at_the_scheduled_rate(trainer, overrides, count):
    scenario = small(schedule="cosine", warmupSteps=2, optimizer="adamw", **overrides)
    steps = applied(run(trainer, scenario))
    assert [step["update"]["learningRate"] for step in steps] == pytest.approx(expected_rates(scenario, count))
    assert [step["optimizerSteps"] for step in steps] == list(range(1, count + 1))


def gradient_norm(step: dict[str, Any]) -> float:
    body = step["body"]["gradient"] if step["body"] else []
    return math.sqrt(sum(w * w for w in step["fingerprint"]["weights"]) + sum(g * g for g in body))


@pytest.mark.parametrize("model", ["fingerprint", "mlp"])
def test_the_reference_clips_the_whole_windows_gradient_once(model):
    plain = run("reference", small(model=model))
    clipped = run("reference", small(model=model, clipNorm=0.1))
    for step, unclipped in zip(clipped["steps"], plain["steps"], strict=True):
        assert gradient_norm(step) == pytest.approx(min(0.1, gradient_norm(unclipped)), rel=1e-5)
        assert len(set(weights(step).values())) == 1  # every sample scaled the same


def test_clipping_per_micro_batch_weighs_a_windows_micro_batches_differently():
    steps = run("my_broken_step_loops:clip_per_micro_batch", small(clipNorm=0.1))["steps"]
    assert all(len({round(w, 9) for w in weights(step).values()}) == 2 for step in steps)


@pytest.mark.filterwarnings("ignore:Detected call of `lr_scheduler.step\\(\\)` before `optimizer.step\\(\\)`")
def test_a_scheduler_ticked_per_micro_batch_runs_k_times_too_fast():
    scenario = small(schedule="linear", warmupSteps=2)
    rates = [step["update"]["learningRate"] for step in run("my_broken_step_loops:scheduler_per_micro_batch", scenario)["steps"]]
    too_fast = expected_rates(scenario, 18)[2::2]  # K ticks before each step: step s runs at f(K (s + 1))
    assert rates == pytest.approx(too_fast) and rates != pytest.approx(expected_rates(scenario, 8))


def test_a_scheduler_ticked_on_the_skipped_step_runs_one_ahead_after_it():
    scenario = small(schedule="step", precision="fp16", overflowStep=2)
    trace = run("my_broken_step_loops:scheduler_on_skipped_step", scenario)
    rates = [step["update"]["learningRate"] for step in applied(trace)]
    assert rates == pytest.approx([expected_rates(scenario, 9)[s] for s in [0, *range(2, 9)]])


def test_the_scheduled_example_is_correct_under_every_field():
    decay = 0.9
    scenario = small(
        optimizer="adamw", schedule="cosine", warmupSteps=2, clipNorm=0.1, ema=decay, precision="fp16", overflowStep=3
    )
    trace = run("my_scheduled_loop:train", scenario)
    steps = trace["steps"]
    assert [step["skipped"] for step in steps].count(True) == 1 and steps[2]["skipped"]
    assert [step["update"]["learningRate"] for step in applied(trace)] == pytest.approx(expected_rates(scenario, 8))
    assert [step["optimizerSteps"] for step in applied(trace)] == list(range(1, 9))
    for step, value in zip(steps, ema_recursion(steps, decay, copy_first=True), strict=True):
        assert step["average"]["value"] == pytest.approx(value, abs=1e-6)
    assert all(gradient_norm(step) == pytest.approx(0.1, rel=1e-5) for step in applied(trace))
    assert_every_sample_once_per_epoch(trace, 2, 32)


def test_every_rank_records_the_same_step_semantics():
    import_before_fork()
    scenario = small(
        worldSize=2, datasetSize=21, batchSize=2, model="mlp", optimizer="adamw", schedule="linear", warmupSteps=1,
        ema=0.9, clipNorm=0.1, precision="fp16", overflowStep=2,
    )
    trace = run("ddp-reference", scenario)
    ranks = [trace["steps"], trace["replicas"][0]["steps"]]
    for steps in ranks:
        assert [step["skipped"] for step in steps] == [False, True, *[False] * 5]
        assert [step["optimizerSteps"] for step in steps] == [1, 1, 2, 3, 4, 5, 6]
        assert [s["update"]["learningRate"] for s in steps if not s["skipped"]] == pytest.approx(expected_rates(scenario, 6))
        assert all(gradient_norm(step) == pytest.approx(0.1, rel=1e-4) for step in steps if not step["skipped"])
    assert [step["average"] for step in ranks[0]] == [step["average"] for step in ranks[1]]
    assert_every_sample_once_per_epoch(trace, 2, 21)
