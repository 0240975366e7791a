from collections import Counter

import pytest
import torch

from accumaudit_probe import registry
from accumaudit_probe.loops import reference
from accumaudit_probe.run import run_scenario
from conftest import parameters_for


def run(name, scenario, data):
    features, labels = data(scenario["datasetSize"])
    return run_scenario(name, scenario, features, labels, parameters_for(scenario["model"]))


def weights(step):
    f = step["fingerprint"]
    return {(e, s): w for e, s, w in zip(f["epochs"], f["samples"], f["weights"])}


def test_docs_loop_loses_the_tail_and_leaks_it_into_the_next_epoch(make_scenario, data):
    trace = run("docs-loop", make_scenario(), data)
    epochs = [s["epoch"] for s in trace["steps"]]
    assert epochs == [0, 0, 0, 1, 1, 1]
    assert all(w == pytest.approx(1 / 32) for w in weights(trace["steps"][0]).values())
    leaked = weights(trace["steps"][3])
    assert sorted(s for (e, s) in leaked if e == 0) == list(range(96, 110))
    assert sorted(s for (e, s) in leaked if e == 1) == list(range(32))
    assert leaked[(0, 109)] == pytest.approx(1 / 4 / 6)


@pytest.mark.parametrize("model", ["fingerprint", "logistic", "mlp"])
def test_reference_weights_every_sample_by_window_size(make_scenario, data, model):
    trace = run("reference", make_scenario(model=model, shuffle=5), data)
    assert len(trace["steps"]) == 8
    seen = Counter()
    for step in trace["steps"]:
        w = weights(step)
        assert all(e == step["epoch"] for e, _ in w)
        assert all(v == pytest.approx(1 / len(w)) for v in w.values())
        seen.update(list(w))
    assert set(seen.values()) == {1} and len(seen) == 220


def test_tail_step_and_two_loop_weights(make_scenario, data):
    tail = run("tail-step", make_scenario(), data)["steps"][3]
    assert weights(tail)[(0, 100)] == pytest.approx(1 / 32)
    two = run("two-loop", make_scenario(), data)["steps"][3]
    assert weights(two)[(0, 100)] == pytest.approx(1 / 2 / 8)
    assert weights(two)[(0, 109)] == pytest.approx(1 / 2 / 6)


def test_k_plus_one_steps_every_five_micro_batches(make_scenario, data):
    steps = run("k-plus-one", make_scenario(epochs=1), data)["steps"]
    assert [len(weights(s)) for s in steps] == [40, 40]


def test_micro_batches_carry_epoch_tag_and_steps_before(make_scenario, data):
    trace = run("docs-loop", make_scenario(), data)
    mbs = trace["microBatches"]
    assert len(mbs) == 28
    assert [m["stepsBefore"] for m in mbs[:5]] == [0, 0, 0, 0, 1]
    assert mbs[14]["epoch"] == 1 and mbs[13]["samples"] == list(range(104, 110))


def test_reference_redoes_windows_that_overflow_in_fp16(make_scenario, data):
    features, labels = data(20)

    def overflowing(ctx):
        ctx.make_scaler = lambda **_: torch.amp.GradScaler("cpu", init_scale=2.0**40)
        reference.train(ctx)

    registry.register("test-overflow", overflowing)
    scenario = make_scenario(datasetSize=20, batchSize=4, accumulation=2, epochs=1, precision="fp16", model="mlp")
    trace = run_scenario("test-overflow", scenario, features, labels, parameters_for("mlp"))
    skipped = [s for s in trace["steps"] if s["skipped"]]
    applied = [s for s in trace["steps"] if not s["skipped"]]
    assert len(skipped) > 0 and len(applied) == 3
    covered = Counter(k for s in applied for k in weights(s))
    assert len(covered) == 20 and set(covered.values()) == {1}


def test_user_function_by_module_path(make_scenario, data):
    trace = run("accumaudit_probe.loops.two_loop:train", make_scenario(epochs=1), data)
    assert trace["trainer"]["name"] == "python:accumaudit_probe.loops.two_loop:train"
    assert len(trace["steps"]) == 4


def test_unknown_trainer_names_the_choices(make_scenario, data):
    with pytest.raises(registry.TrainerUnavailable, match="expected one of docs-loop"):
        run("nope", make_scenario(), data)


@pytest.mark.parametrize("precision", ["fp16", "bf16"])
@pytest.mark.parametrize("name", ["reference", "two-loop"])
def test_mixed_precision_loops_apply_every_window(make_scenario, data, precision, name):
    trace = run(name, make_scenario(model="mlp", precision=precision, shuffle=2), data)
    applied = [s for s in trace["steps"] if not s["skipped"]]
    assert sum(len(s["fingerprint"]["samples"]) for s in applied) == 220
    assert all(("lossScale" in s) == (precision == "fp16") for s in trace["steps"])


class NoLength:
    """An iterable data source whose length is unknown: iterating works, len() raises."""

    def __init__(self, loader):
        self.loader = loader

    def __iter__(self):
        return iter(self.loader)

    def __len__(self):
        raise TypeError("data source of unknown length")


def test_reference_works_on_a_data_source_of_unknown_length(make_scenario, data, monkeypatch):
    from accumaudit_probe.context import RunContext

    make_loader = RunContext.make_loader
    monkeypatch.setattr(RunContext, "make_loader", lambda self, *a, **k: NoLength(make_loader(self, *a, **k)))
    trace = run("reference", make_scenario(), data)
    assert [len(weights(s)) for s in trace["steps"]] == [32, 32, 32, 14] * 2
    assert all(v == pytest.approx(1 / 14) for v in weights(trace["steps"][3]).values())
    with pytest.raises(TypeError, match="unknown length"):
        run("tail-step", make_scenario(), data)
