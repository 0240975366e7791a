import math

import pytest
import torch

from accumaudit_probe.probe import ProbeDataset, ProbeModel, body_parameter_count
from accumaudit_probe.recorder import Recorder
from conftest import parameters_for


def test_body_parameter_counts_follow_probe_ts():
    assert [body_parameter_count(m) for m in ("fingerprint", "logistic", "mlp")] == [0, 4, 21]


def test_per_sample_loss_adds_the_fingerprint_of_the_epoch_tag(make_scenario, data):
    scenario = make_scenario(datasetSize=5, epochs=3)
    features, labels = data(5)
    model = ProbeModel(scenario, parameters_for("logistic"))
    with torch.no_grad():
        model.fingerprint[2 * 5 + 3] = 10.0
    x, y, ids = ProbeDataset(features, labels).x[3:4], torch.tensor([labels[3]]), torch.tensor([3])
    model.epoch = 2
    tagged = model.per_sample_loss(x, y, ids)
    model.epoch = 1
    untagged = model.per_sample_loss(x, y, ids)
    assert tagged.item() == pytest.approx(untagged.item() + 10.0)
    w, b = torch.tensor([0.1, -0.2, 0.3]), 0.05
    z = float(x[0] @ w) + b
    assert untagged.item() == pytest.approx(math.log1p(math.exp(z)) - labels[3] * z, rel=1e-5)


def test_forward_is_mean_or_sum_over_num_items(make_scenario, data):
    features, labels = data(4)
    model = ProbeModel(make_scenario(datasetSize=4, model="mlp"), parameters_for("mlp"))
    batch = {"x": ProbeDataset(features, labels).x, "y": torch.tensor(labels), "ids": torch.arange(4)}
    losses = model.per_sample_loss(**batch)
    assert model(**batch).loss.item() == pytest.approx(losses.mean().item())
    assert model(**batch, num_items_in_batch=10)["loss"].item() == pytest.approx(losses.sum().item() / 10)


def test_rejects_wrong_parameter_count(make_scenario):
    with pytest.raises(ValueError, match="initialParameters: expected 4"):
        ProbeModel(make_scenario(), [0.0])


def test_recorder_reads_weights_from_the_applied_gradient(make_scenario, data):
    features, labels = data(6)
    model = ProbeModel(make_scenario(datasetSize=6, epochs=1), parameters_for("logistic"))
    dataset = ProbeDataset(features, labels)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    with Recorder(model) as recorder:
        ids = torch.tensor([1, 4, 5])
        model(dataset.x[ids], dataset.y[ids], ids).loss.backward()
        optimizer.step()
    [step] = recorder.steps
    assert step["fingerprint"] == {"epochs": [0, 0, 0], "samples": [1, 4, 5], "weights": pytest.approx([1 / 3] * 3)}
    assert step["body"]["parametersBefore"] == pytest.approx([0.1, -0.2, 0.3, 0.05])
    assert recorder.micro_batches == [{"epoch": 0, "samples": [1, 4, 5], "stepsBefore": 0}]


def test_recorder_ignores_other_optimizers_and_is_removed(make_scenario):
    model = ProbeModel(make_scenario(datasetSize=2, epochs=1, model="fingerprint"), [])
    other = torch.nn.Parameter(torch.ones(1))
    with Recorder(model) as recorder:
        other.grad = torch.ones(1)
        torch.optim.SGD([other], lr=0.1).step()
    model.fingerprint.grad = torch.ones(2)
    torch.optim.SGD(model.parameters(), lr=0.1).step()
    assert recorder.steps == []
    assert torch.amp.GradScaler.step.__name__ == "step" and "recorder" not in torch.amp.GradScaler.step.__qualname__


def test_recorder_sees_skipped_gradscaler_steps(make_scenario, data):
    features, labels = data(4)
    model = ProbeModel(make_scenario(datasetSize=4, epochs=1, model="fingerprint"), [])
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    scaler = torch.amp.GradScaler("cpu", init_scale=1024.0)
    with Recorder(model) as recorder:
        ids = torch.arange(4)
        scaler.scale(model(torch.zeros(4, 3), torch.zeros(4), ids).loss).backward()
        model.fingerprint.grad[2] = float("inf")
        scaler.step(optimizer)
        scaler.update()
        optimizer.zero_grad()
        scaler.scale(model(torch.zeros(4, 3), torch.zeros(4), ids).loss).backward()
        scaler.step(optimizer)
    skipped, applied = recorder.steps
    assert skipped["skipped"] is True and skipped["lossScale"] == 1024.0 and skipped["body"] is None
    assert applied["skipped"] is False and applied["lossScale"] == 512.0
    assert applied["fingerprint"]["weights"] == [0.25] * 4
    assert recorder.micro_batches[1]["stepsBefore"] == 1


def test_recorder_reads_the_gradient_after_a_closure_ran_inside_step(make_scenario, data):
    features, labels = data(4)
    model = ProbeModel(make_scenario(datasetSize=4, epochs=1), parameters_for("logistic"))
    dataset = ProbeDataset(features, labels)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.5)

    def closure():
        ids = torch.tensor([2, 3])
        loss = model(dataset.x[ids], dataset.y[ids], ids).loss / 2
        loss.backward()
        return loss

    with Recorder(model) as recorder:
        ids = torch.tensor([0, 1])
        (model(dataset.x[ids], dataset.y[ids], ids).loss / 2).backward()
        optimizer.step(closure)
    [step] = recorder.steps
    assert step["fingerprint"]["samples"] == [0, 1, 2, 3]
    assert step["fingerprint"]["weights"] == [0.25] * 4
    assert step["body"]["parametersBefore"] == pytest.approx([0.1, -0.2, 0.3, 0.05])
    after = [v for p in model.body_parameters() for v in p.detach().reshape(-1).tolist()]
    expected = [b - 0.5 * g for b, g in zip(step["body"]["parametersBefore"], step["body"]["gradient"])]
    assert after == pytest.approx(expected, rel=1e-6)
    assert [m["stepsBefore"] for m in recorder.micro_batches] == [0, 0]
