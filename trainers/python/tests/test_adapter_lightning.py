"""Lightning's step-semantics options as the adapter wires them (lightning 2.6.6, CPU).

The TypeScript checks (test/step-semantics-lightning.test.ts) see the EMA run fail with a change of
every fingerprint entry after the last step; this shows what that change is: Lightning's
``WeightAveraging.on_train_end`` copying the average over the trained weights.
"""

from __future__ import annotations

import tempfile
from typing import Any

import pytest
import torch

lightning = pytest.importorskip("lightning")

from accumaudit_probe import registry  # noqa: E402
from accumaudit_probe.adapters.with_lightning import ProbeClassifier, trainer_options  # noqa: E402
from accumaudit_probe.context import RunContext  # noqa: E402
from accumaudit_probe.probe import ProbeDataset, ProbeModel  # noqa: E402
from conftest import dataset, parameters_for, scenario_dict  # noqa: E402


class TrainedWeights(lightning.Callback):
    """Keeps the module's parameters as training ends, before the callbacks after it act."""

    def __init__(self) -> None:
        self.parameters: list[torch.Tensor] = []

    def on_train_end(self, trainer: Any, pl_module: Any) -> None:
        self.parameters = [p.detach().clone() for p in pl_module.parameters()]


def context(**overrides: Any) -> RunContext:
    scenario = scenario_dict(**{"datasetSize": 32, "accumulation": 2, "epochs": 1, "model": "logistic", **overrides})
    features, labels = dataset(scenario["datasetSize"])
    model = ProbeModel(scenario, parameters_for(scenario["model"]))
    return RunContext(scenario, ProbeDataset(features, labels), model, "cpu")


def test_the_trainer_gets_lightnings_clip_and_ema_options():
    ctx = context(clipNorm=0.5, ema=0.9)
    options = trainer_options(ctx, "unused")
    assert (options["gradient_clip_val"], options["gradient_clip_algorithm"]) == (0.5, "norm")
    (callback,) = options["callbacks"]
    assert isinstance(callback, lightning.pytorch.callbacks.EMAWeightAveraging)
    assert "gradient_clip_val" not in trainer_options(context(), "unused")


def test_a_schedule_is_stepped_by_lightning_every_optimizer_step():
    ctx = context(schedule="cosine", warmupSteps=1)
    configured = ProbeClassifier(ctx).configure_optimizers()
    assert isinstance(configured, dict)
    assert configured["lr_scheduler"]["interval"] == "step"
    assert isinstance(ProbeClassifier(context()).configure_optimizers(), torch.optim.SGD)


def test_the_ema_callback_puts_the_average_into_the_model_when_training_ends():
    ctx = context(ema=0.5)
    trained = TrainedWeights()
    with tempfile.TemporaryDirectory() as root:
        options = trainer_options(ctx, root)
        (ema,) = options["callbacks"]
        options["callbacks"] = [trained, ema]
        lightning.Trainer(**options).fit(ProbeClassifier(ctx), train_dataloaders=ctx.make_loader())
    final = [p.detach() for p in ctx.model.parameters()]
    average = [p.detach() for p in ema._average_model.module.parameters()]
    assert all(torch.equal(f, a) for f, a in zip(final, average, strict=True))
    assert not all(torch.equal(f, t) for f, t in zip(final, trained.parameters, strict=True))


def test_every_step_field_is_wired():
    scenario = scenario_dict(clipNorm=1.0, ema=0.9, schedule="linear", optimizer="adamw")
    assert registry.step_refusal("lightning", scenario) is None
