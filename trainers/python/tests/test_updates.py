"""What each step did to the parameters (``steps[].update``) and what changed them outside any step
(``outsideSteps``), as the recorder reads them: the users' trainers of update_trainers.py, plain
loops, adapters' optimizers, ranks, and a fingerprint large enough to be read sparsely."""

from __future__ import annotations

import pytest
import torch

from accumaudit_probe import updates as updates_module
from accumaudit_probe.probe import ProbeDataset, ProbeModel
from accumaudit_probe.rank_process import import_before_fork
from accumaudit_probe.recorder import Recorder
from accumaudit_probe.run import run_scenario
from accumaudit_probe.updates import update_rule
from accumaudit_probe.wire import encode_trace, unpack
from conftest import parameters_for


def run(trainer, scenario, data):
    features, labels = data(scenario["datasetSize"])
    return run_scenario(trainer, scenario, features, labels, parameters_for(scenario["model"]), timeout_s=60)


def assert_plain_sgd(step):
    """Each fingerprint entry moved by lr·g (float32: to 1e-6 relative), each body parameter by lr·g to
    the rounding of θ' = fp32(θ − fp32(lr·g)), a few units in the last place of θ."""
    update, lr = step["update"], step["update"]["learningRate"]
    assert update["fingerprint"] == pytest.approx([lr * w for w in step["fingerprint"]["weights"]], rel=1e-6)
    if step["body"] is not None:
        for theta, g, change in zip(step["body"]["parametersBefore"], step["body"]["gradient"], update["body"], strict=True):
            assert abs(change - lr * g) <= 4 * 2**-24 * (2 * abs(theta) + abs(lr * g)), (theta, g, change)


@pytest.fixture(params=[False, True], ids=["full-read", "sparse-read"])
def read(request, monkeypatch):
    """Every test twice: the fingerprint compared in full at every read, and read sparsely (as one
    of FULL_READ_BELOW entries or more is): only what the steps touch, the rest at the run's end."""
    if request.param:
        monkeypatch.setattr(updates_module, "FULL_READ_BELOW", 0)
    return request.param


def test_a_correct_loop_moves_every_entry_by_lr_g_and_nothing_else(make_scenario, data, read):
    trace = run("update_trainers:correct", make_scenario(datasetSize=22, batchSize=4, accumulation=2), data)
    assert "outsideSteps" not in trace
    for step in trace["steps"]:
        assert step["update"]["rule"] == "sgd" and step["update"]["learningRate"] == 0.1
        assert step["update"]["movedWithoutGradient"] == 0
        assert_plain_sgd(step)


@pytest.mark.parametrize(
    ("trainer", "moved"),
    [("no_op_step", [0, 0, 0, 0]), ("skips_every_second", [1, 0, 1, 0]), ("zero_learning_rate", [0, 0, 0, 0])],
)
def test_steps_that_apply_nothing_show_no_change(make_scenario, data, read, trainer, moved):
    trace = run(f"update_trainers:{trainer}", make_scenario(datasetSize=16, batchSize=4, accumulation=2), data)
    changed = [any([*step["update"]["fingerprint"], *step["update"]["body"]]) for step in trace["steps"]]
    assert [int(c) for c in changed] == moved
    assert "outsideSteps" not in trace


def test_a_replaced_step_method_records_no_step(make_scenario, data, read):
    trace = run("update_trainers:patched_step", make_scenario(datasetSize=16, batchSize=4, accumulation=2), data)
    assert trace["steps"] == [] and "outsideSteps" not in trace
    assert len(trace["microBatches"]) == 8


def test_an_update_by_hand_after_the_step_repeats_it_outside_the_steps(make_scenario, data, read):
    trace = run("update_trainers:manual_update_after_step", make_scenario(datasetSize=16, batchSize=4, accumulation=2), data)
    steps, outside = trace["steps"], trace["outsideSteps"]
    assert [(c["rank"], c["since"], c["stepsBefore"]) for c in outside] == [(0, s, s) for s in range(1, 5)]
    for change, step in zip(outside, steps, strict=True):  # after step s: step s's lr·g again
        f = change["fingerprint"]
        assert (f["epochs"], f["samples"]) == (step["fingerprint"]["epochs"], step["fingerprint"]["samples"])
        assert f["changes"] == pytest.approx(step["update"]["fingerprint"], rel=1e-5)
        assert change["body"] == pytest.approx(step["update"]["body"], rel=1e-4, abs=1e-9)


def test_parameters_edited_between_steps_are_seen_where_they_changed(make_scenario, data, read):
    scenario = make_scenario(datasetSize=16, batchSize=4, accumulation=2)
    edited = run("update_trainers:edits_fingerprint", scenario, data)
    # Read in full, all 32 entries are seen before step 3. Read sparsely, step 2's entries are seen
    # there, and the entries each later step's forward passes gathered before that step, the rest at
    # the run's end: those dated "since the last full read" (the run's start).
    seen = [(c["since"], c["stepsBefore"], len(c["fingerprint"]["changes"])) for c in edited["outsideSteps"]]
    assert seen == ([(2, 2, 8), (0, 2, 8), (0, 3, 8), (0, 4, 8)] if read else [(2, 2, 32)])
    for step in edited["steps"]:  # each step's own update, the edit not in it
        assert step["update"]["fingerprint"] == pytest.approx([0.1 * w for w in step["fingerprint"]["weights"]])
    assert all(c == pytest.approx(-0.1) for o in edited["outsideSteps"] for c in o["fingerprint"]["changes"])
    scaled = run("update_trainers:scales_body", scenario, data)
    assert [(c["since"], c["fingerprint"]["changes"]) for c in scaled["outsideSteps"]] == [(s, []) for s in range(1, 5)]
    for change, step in zip(scaled["outsideSteps"], scaled["steps"], strict=True):
        after = [b - d for b, d in zip(step["body"]["parametersBefore"], step["update"]["body"], strict=True)]
        assert change["body"] == pytest.approx([a / 2 for a in after], rel=1e-6)


@pytest.mark.parametrize("trainer", ["adamw", "two_optimizers"])
def test_other_optimizers_are_recorded_as_such_and_change_nothing_outside_their_steps(make_scenario, data, read, trainer):
    trace = run(f"update_trainers:{trainer}", make_scenario(datasetSize=16, batchSize=4, accumulation=2), data)
    assert "outsideSteps" not in trace
    assert {step["update"]["rule"] for step in trace["steps"]} == {"other"}
    assert all(any(step["update"]["fingerprint"]) for step in trace["steps"])


def test_the_update_rule_is_plain_sgd_only_over_every_probe_parameter_without_extra_terms():
    model = ProbeModel(
        {"datasetSize": 4, "epochs": 1, "model": "logistic", "weighting": "samples"}, parameters_for("logistic")
    )
    sgd = torch.optim.SGD
    assert update_rule(sgd(model.parameters(), lr=0.5), model) == ("sgd", 0.5)
    assert update_rule(sgd(model.parameters(), lr=torch.tensor(0.25)), model) == ("sgd", 0.25)
    assert update_rule(sgd(model.parameters(), lr=0.5, momentum=0.9), model) == ("other", 0.5)
    assert update_rule(sgd(model.parameters(), lr=0.5, weight_decay=0.1), model) == ("other", 0.5)
    assert update_rule(sgd([model.fingerprint], lr=0.5), model) == ("other", 0.5)
    groups = [{"params": [model.fingerprint], "lr": 0.5}, {"params": model.body_parameters(), "lr": 0.1}]
    assert update_rule(sgd(groups, lr=0.5), model) == ("other", None)
    assert update_rule(torch.optim.AdamW(model.parameters(), lr=0.5), model) == ("other", 0.5)


def test_record_step_records_its_update_as_another_rule(make_scenario, data, read):
    features, labels = data(8)
    scenario = make_scenario(datasetSize=8, batchSize=4, accumulation=1, epochs=1)
    model = ProbeModel(scenario, parameters_for("logistic"))
    dataset = ProbeDataset(features, labels)
    with Recorder(model) as recorder:
        for ids in ([0, 1, 2, 3], [4, 5, 6, 7]):
            batch = dataset.__getitems__(ids)
            x, y = torch.stack([item["x"] for item in batch]), torch.stack([item["y"] for item in batch])
            model.per_sample_loss(x, y, torch.tensor(ids)).mean().backward()
            with recorder.record_step(), torch.no_grad():
                for p in model.parameters():
                    p -= 0.5 * p.grad
            model.zero_grad()
    trace = recorder.trace(scenario, {"name": "hand"})
    assert "outsideSteps" not in trace
    for step in trace["steps"]:
        assert step["update"]["rule"] == "other" and "learningRate" not in step["update"]
        assert step["update"]["fingerprint"] == pytest.approx([0.5 * w for w in step["fingerprint"]["weights"]])


def test_the_wire_carries_updates_and_changes_outside_the_steps(make_scenario, data):
    trace = run("update_trainers:manual_update_after_step", make_scenario(datasetSize=8, batchSize=4, accumulation=1), data)
    for packed in (True, False):
        encoded = encode_trace(trace, packed=packed)
        step, wired = trace["steps"][0], encoded["steps"][0]
        assert unpack(wired["update"]["fingerprint"]) == step["update"]["fingerprint"]
        assert unpack(wired["update"]["body"]) == step["update"]["body"]
        assert wired["update"]["learningRate"] == 0.1 and wired["update"]["rule"] == "sgd"
        change, sent = trace["outsideSteps"][0], encoded["outsideSteps"][0]
        assert (sent["rank"], sent["since"], sent["stepsBefore"]) == (0, 1, 1)
        assert unpack(sent["fingerprint"]["changes"]) == change["fingerprint"]["changes"]
        assert unpack(sent["fingerprint"]["samples"]) == change["fingerprint"]["samples"]


def test_every_rank_records_its_own_updates_and_changes(make_scenario, data):
    import_before_fork()
    scenario = make_scenario(worldSize=2, datasetSize=22, batchSize=2, accumulation=2)
    trace = run("ddp-reference", scenario, data)
    assert "outsideSteps" not in trace
    for steps in (trace["steps"], trace["replicas"][0]["steps"]):
        for step in steps:
            assert step["update"]["rule"] == "sgd"
            assert_plain_sgd(step)


@pytest.mark.parametrize(
    "trainer, framework, rule",
    [
        ("lightning", "lightning", "sgd"),
        ("accelerate", "accelerate", "sgd"),
        ("hf-trainer", "transformers", "sgd"),
        ("ignite", "ignite", "sgd"),
        ("poutyne", "poutyne", "sgd"),
        ("keras", "accumaudit_probe.adapters.with_keras", "other"),  # sets KERAS_BACKEND=torch before keras is imported
        ("fastai", "fastai", None),  # fastai's OptimWrapper sets its own hyper-parameters on torch's SGD
        ("fastai-native", "fastai", "other"),
        ("mmengine", "mmengine", "sgd"),
    ],
)
def test_the_adapters_apply_what_their_steps_record_and_nothing_outside_them(data, monkeypatch, trainer, framework, rule):
    """Read sparsely (the full read is what every adapter's check through the harness runs)."""
    pytest.importorskip(framework)
    monkeypatch.setattr(updates_module, "FULL_READ_BELOW", 0)
    from conftest import scenario_dict

    scenario = scenario_dict(datasetSize=21, batchSize=4, accumulation=2, model="mlp")
    trace = run(trainer, scenario, data)
    assert "outsideSteps" not in trace
    applied = [step for step in trace["steps"] if not step["skipped"]]
    assert applied and all(any(step["update"]["fingerprint"]) for step in applied)
    if rule is not None:
        assert {step["update"]["rule"] for step in applied} == {rule}
    for step in applied:
        if step["update"]["rule"] == "sgd":
            assert_plain_sgd(step)
