"""Runs that draw with replacement (``sampling: "replacement"``): what the context gives a loop, and
what the recorder records of nanoGPT-shaped loops (nanogpt_loops.py) and the registered loops."""

import os
import sys
from collections import Counter

import pytest
import torch

from accumaudit_probe.context import RunContext
from accumaudit_probe.probe import ProbeDataset, ProbeModel
from accumaudit_probe.run import RunError, run_scenario
from conftest import parameters_for, weights

HERE = os.path.dirname(os.path.abspath(__file__))
for folder in (HERE, os.path.join(os.path.dirname(HERE), "examples")):  # nanogpt_loops, my_replacement_loop
    if folder not in sys.path:
        sys.path.insert(0, folder)


def drawn(make_scenario, **overrides):
    """The 50/4/3 scenario drawing with replacement for 5 steps, with overrides."""
    scenario = make_scenario(datasetSize=50, batchSize=4, accumulation=3, epochs=1, sampling="replacement", steps=5)
    scenario.update(overrides)
    return scenario


def run(trainer, scenario, data):
    features, labels = data(scenario["datasetSize"])
    return run_scenario(trainer, scenario, features, labels, parameters_for(scenario["model"]))


def context(scenario, data):
    features, labels = data(scenario["datasetSize"])
    return RunContext(scenario, ProbeDataset(features, labels), ProbeModel(scenario, parameters_for(scenario["model"])), "cpu")


def test_the_context_names_the_sampling_and_the_steps(make_scenario, data):
    ctx = context(drawn(make_scenario), data)
    assert (ctx.sampling, ctx.steps, ctx.epochs) == ("replacement", 5, 1)
    plain = context(make_scenario(), data)
    assert (plain.sampling, plain.steps) == ("epochs", None)


def test_make_loader_draws_steps_x_k_micro_batches_of_b_with_replacement_from_the_data_seed(make_scenario, data):
    ctx = context(drawn(make_scenario, steps=40), data)
    batches = [batch["ids"].tolist() for batch in ctx.make_loader()]
    assert len(batches) == 40 * 3 and all(len(ids) == 4 for ids in batches)
    counts = Counter(i for ids in batches for i in ids)
    assert max(counts.values()) > 1  # 480 draws of 50 samples repeat some
    again = [batch["ids"].tolist() for batch in context(drawn(make_scenario, steps=40), data).make_loader()]
    assert again == batches  # seeded from the data seed
    other = [batch["ids"].tolist() for batch in context(drawn(make_scenario, steps=40, dataSeed=1), data).make_loader()]
    assert other != batches
    # A distributed loader of the one rank draws the same.
    assert [b["ids"].tolist() for b in context(drawn(make_scenario, steps=40), data).make_distributed_loader()] == batches


def test_draw_batch_gives_b_random_ids_as_to_device_does(make_scenario, data):
    ctx = context(drawn(make_scenario), data)
    x, y, ids = ctx.draw_batch()
    assert x.shape == (4, 3) and y.shape == (4,) and ids.dtype == torch.int64 and len(ids) == 4
    assert torch.equal(x, ctx.dataset.x[ids])
    assert ctx.draw_batch()[2].tolist() != ids.tolist() or ctx.draw_batch()[2].tolist() != ids.tolist()


@pytest.mark.parametrize(
    "trainer", ["nanogpt_loops:train", "my_replacement_loop:train", "replacement-reference", "reference", "docs-loop"]
)
def test_a_right_loop_applies_each_window_of_k_drawn_micro_batches_by_its_draws(trainer, make_scenario, data):
    """Every forward pass recorded with epoch tag 0; one step per K of them; each sample weighted by
    its draws in the window over the window's draws (a sample drawn twice: twice 1/|W|)."""
    trace = run(trainer, drawn(make_scenario, model="logistic"), data)
    micro_batches = trace["microBatches"]
    assert len(micro_batches) == 15 and all(len(mb["samples"]) == 4 and mb["epoch"] == 0 for mb in micro_batches)
    assert len(trace["steps"]) == 5
    for j, step in enumerate(trace["steps"]):
        window = [s for mb in micro_batches[3 * j : 3 * j + 3] for s in mb["samples"]]
        assert all(mb["stepsBefore"] == j for mb in micro_batches[3 * j : 3 * j + 3])
        due = {(0, s): n / len(window) for s, n in Counter(window).items()}
        assert weights(step) == pytest.approx(due, rel=1e-5)
    repeated = [Counter(s for mb in micro_batches[3 * j : 3 * j + 3] for s in mb["samples"]) for j in range(5)]
    assert any(n > 1 for window in repeated for n in window.values())


def test_a_loop_without_zero_grad_applies_a_window_again_at_the_next_step(make_scenario, data):
    trace = run("nanogpt_loops:train_without_zero_grad", drawn(make_scenario), data)
    first = {s for mb in trace["microBatches"][:3] for s in mb["samples"]}
    assert set(s for _, s in weights(trace["steps"][1])) >= first


def test_a_loop_one_step_short_leaves_the_last_window_unapplied(make_scenario, data):
    trace = run("nanogpt_loops:train_one_step_short", drawn(make_scenario), data)
    assert len(trace["steps"]) == 4 and len(trace["microBatches"]) == 15
    assert all(mb["stepsBefore"] == 4 for mb in trace["microBatches"][12:])


def test_the_replacement_reference_is_the_reference_loop_under_epochs(make_scenario, data):
    scenario = make_scenario(datasetSize=20, batchSize=4, accumulation=2, epochs=2)
    assert run("replacement-reference", scenario, data)["steps"] == run("reference", scenario, data)["steps"]


def test_the_replacement_reference_applies_one_whole_window_per_step_under_fp16(make_scenario, data):
    """Under fp16 (autocast, GradScaler) every applied step still holds one window's weights, summing to 1."""
    trace = run("replacement-reference", drawn(make_scenario, precision="fp16", model="mlp"), data)
    applied = [step for step in trace["steps"] if not step["skipped"]]
    assert len(applied) == 5
    assert all(sum(weights(step).values()) == pytest.approx(1, rel=1e-3) for step in applied)


def test_the_scenario_needs_its_sampling_and_steps_together(make_scenario, data):
    features, labels = data(50)
    scenario = drawn(make_scenario)
    del scenario["sampling"]
    with pytest.raises(RunError, match="'sampling' is a required property"):
        run_scenario("reference", scenario, features, labels, [])
