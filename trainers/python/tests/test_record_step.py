"""Optimizers outside torch.optim: an update the recorder cannot see fails the run with a sentence
that names the fix, and ``ctx.record_step()`` records such an update as torch.optim's step would be
recorded (both ways of reading the gradient), never twice around a torch.optim step."""

import pytest
import torch

from accumaudit_probe import registry
from accumaudit_probe.loops import ddp_reference, docs_loop, reference
from accumaudit_probe.rank_process import import_before_fork
from accumaudit_probe.ranks import RankError
from accumaudit_probe.run import run_scenario
from accumaudit_probe.unrecorded import UnrecordedUpdate
from conftest import parameters_for


class HandSGD:
    """Plain SGD written by hand, not a torch.optim.Optimizer: the recorder's hooks never see it.

    It applies ``.grad`` and clears it, as optimizers of other libraries may.
    """

    def __init__(self, parameters, lr):
        self.parameters, self.lr = list(parameters), lr

    @torch.no_grad()
    def step(self):
        for p in self.parameters:
            if p.grad is not None:
                p.data -= self.lr * p.grad
                p.grad = None

    def zero_grad(self, set_to_none=True):
        for p in self.parameters:
            p.grad = None


class RecordedHandSGD(HandSGD):
    """HandSGD whose step records itself with ``ctx.record_step`` (by ``.grad`` or by the change / lr)."""

    def __init__(self, ctx, by_change):
        super().__init__(ctx.model.parameters(), ctx.learning_rate)
        self.ctx, self.by_change = ctx, by_change

    def step(self):
        with self.ctx.record_step(learning_rate=self.lr if self.by_change else None):
            super().step()


class TorchSGDInside:
    """``with ctx.record_step(): sgd.step()``: torch's step hooks fire inside the block."""

    def __init__(self, ctx):
        self.ctx, self.sgd = ctx, torch.optim.SGD(ctx.model.parameters(), lr=ctx.learning_rate)

    def step(self):
        with self.ctx.record_step():
            self.sgd.step()

    def zero_grad(self):
        self.sgd.zero_grad()


class SubclassedSGD(torch.optim.SGD):
    """A torch.optim.SGD subclass with its own step: torch hooks both steps, so its hooks fire twice."""

    def __init__(self, ctx):
        super().__init__(ctx.model.parameters(), lr=ctx.learning_rate)
        self.ctx = ctx

    def step(self, closure=None):
        return super().step(closure)


class TorchSGDAround(SubclassedSGD):
    """A torch.optim.SGD subclass whose step runs inside ``ctx.record_step``: the hooks fire around the block."""

    def step(self, closure=None):
        with self.ctx.record_step():
            return super().step(closure)


LOOPS = {"reference": reference.train, "docs-loop": docs_loop.train, "ddp-reference": ddp_reference.train}
OPTIMIZERS = {
    "hand": lambda ctx: HandSGD(ctx.model.parameters(), ctx.learning_rate),
    "grad": lambda ctx: RecordedHandSGD(ctx, by_change=False),
    "change": lambda ctx: RecordedHandSGD(ctx, by_change=True),
    "torch-inside": TorchSGDInside,
    "torch-around": TorchSGDAround,
    "subclass": SubclassedSGD,
}


def register_with_optimizer(loop, optimizer):
    """Registers ``loop`` with ``ctx.make_optimizer`` returning the named optimizer; returns the name."""

    def train(ctx):
        ctx.make_optimizer = lambda: OPTIMIZERS[optimizer](ctx)
        LOOPS[loop](ctx)

    name = f"test-{loop}-{optimizer}"
    registry.register(name, train, distributed=loop.startswith("ddp-"))
    return name


def run(trainer, scenario, data, record=True):
    features, labels = data(scenario["datasetSize"])
    return run_scenario(trainer, scenario, features, labels, parameters_for(scenario["model"]), record=record, timeout_s=60)


def assert_same_steps(steps, expected):
    assert len(steps) == len(expected) > 0
    for step, want in zip(steps, expected, strict=True):
        assert step["epoch"] == want["epoch"] and step["skipped"] is want["skipped"] is False
        mine, theirs = step["fingerprint"], want["fingerprint"]
        assert (mine["epochs"], mine["samples"]) == (theirs["epochs"], theirs["samples"])
        assert mine["weights"] == pytest.approx(theirs["weights"], abs=1e-6)
        if want["body"] is None:
            assert step["body"] is None
        else:
            assert step["body"]["parametersBefore"] == pytest.approx(want["body"]["parametersBefore"], abs=1e-6)
            assert step["body"]["gradient"] == pytest.approx(want["body"]["gradient"], abs=1e-6)


def assert_same_trace(trace, expected):
    assert_same_steps(trace["steps"], expected["steps"])
    for replica, want in zip(trace.get("replicas", []), expected.get("replicas", []), strict=True):
        assert_same_steps(replica["steps"], want["steps"])
    assert trace["microBatches"] == expected["microBatches"]


def test_an_update_outside_torch_optim_fails_the_run_with_the_fix(make_scenario, data):
    name = register_with_optimizer("reference", "hand")
    with pytest.raises(UnrecordedUpdate) as failed:
        run(name, make_scenario(), data)
    assert str(failed.value) == (
        f"trainer {name}: the probe model's parameters (fingerprint, w, b) changed but no torch.optim step was seen;"
        ' record each update with ctx.record_step() (see API.md, "Optimizers outside torch.optim")'
    )
    with pytest.raises(UnrecordedUpdate):
        run(name, make_scenario(), data, record=False)


def test_a_trainer_that_changes_nothing_and_steps_never_is_no_error(make_scenario, data):
    registry.register("test-idle", lambda ctx: None)
    assert run("test-idle", make_scenario(), data)["steps"] == []


@pytest.mark.parametrize("loop", ["reference", "docs-loop"])
@pytest.mark.parametrize("model", ["fingerprint", "logistic", "mlp"])
@pytest.mark.parametrize("way", ["grad", "change"])
def test_record_step_gives_the_trace_of_torch_sgd(make_scenario, data, loop, model, way):
    scenario = make_scenario(model=model, shuffle=3)
    expected = run(loop, scenario, data)
    assert_same_trace(run(register_with_optimizer(loop, way), scenario, data), expected)


@pytest.mark.parametrize("optimizer", ["torch-inside", "torch-around", "subclass"])
def test_a_torch_optim_step_is_recorded_once_inside_record_step_or_a_subclass(make_scenario, data, optimizer):
    scenario = make_scenario()
    torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))])  # hooks SGD.step itself, as any earlier run would
    expected = run("docs-loop", scenario, data)
    trace = run(register_with_optimizer("docs-loop", optimizer), scenario, data)
    assert len(trace["steps"]) == len(expected["steps"]) == 6
    assert_same_trace(trace, expected)


def test_record_step_counts_steps_when_not_recording(make_scenario, data):
    trace = run(register_with_optimizer("reference", "change"), make_scenario(), data, record=False)
    assert trace["steps"] == [] and trace["microBatches"] == []


def test_record_step_records_nothing_when_its_block_raises(make_scenario, data):
    def failing_update(ctx):
        with pytest.raises(ZeroDivisionError), ctx.record_step():
            1 / 0
        assert ctx.recorder.step_calls == 0 and ctx.recorder.steps == []

    registry.register("test-failing-update", failing_update)
    run("test-failing-update", make_scenario(), data)


@pytest.mark.parametrize("learning_rate", [-0.1, float("nan"), "0.1", True])
@pytest.mark.parametrize("name", ["learning_rate", "rate"])
def test_record_step_refuses_a_learning_rate_that_is_not_a_number_of_0_or_more(make_scenario, learning_rate, name):
    from accumaudit_probe.context import RunContext
    from accumaudit_probe.probe import ProbeDataset, ProbeModel

    scenario = make_scenario(datasetSize=2)
    context = RunContext(scenario, ProbeDataset([[0.0] * 3] * 2, [0.0, 1.0]), ProbeModel(scenario, parameters_for("logistic")), "cpu")
    with pytest.raises(ValueError, match=r"^record_step: learning_rate: expected a finite number of 0 or more or None, saw "):
        context.record_step(**{name: learning_rate})


def test_record_step_records_a_rate_of_0_and_a_given_step_count(make_scenario, data):
    """A warm-up's first step at rate 0 is recorded with its rate, its gradient read from .grad on
    entry; ``optimizer_steps`` is recorded as the step's count."""
    from accumaudit_probe.context import RunContext
    from accumaudit_probe.probe import ProbeDataset, ProbeModel
    from accumaudit_probe.recorder import Recorder

    scenario = make_scenario(datasetSize=2, batchSize=2, accumulation=1)
    model = ProbeModel(scenario, parameters_for("logistic"))
    dataset = ProbeDataset([[1.0, 2.0, 3.0], [0.5, 0.0, -1.0]], [0.0, 1.0])
    with Recorder(model) as recorder:
        context = RunContext(scenario, dataset, model, "cpu", recorder=recorder)
        x, y, ids = context.to_device(next(iter(context.make_loader())))
        model.per_sample_loss(x, y, ids).mean().backward()
        with context.record_step(learning_rate=0, optimizer_steps=1):
            pass
        with context.record_step(rate=0.25, optimizer_steps=2):
            pass
    steps = recorder.trace(scenario, {"name": "test"})["steps"]
    assert [s["update"]["learningRate"] for s in steps] == [0.0, 0.25]
    assert [s["optimizerSteps"] for s in steps] == [1, 2]
    assert steps[0]["fingerprint"]["weights"] == pytest.approx([0.5, 0.5])


def test_every_rank_checks_and_records_its_own_updates(make_scenario, data):
    import_before_fork()
    scenario = make_scenario(worldSize=2, datasetSize=22, batchSize=2, accumulation=2, shuffle=1)
    with pytest.raises(RankError, match=r"^rank [01] of 2 failed: UnrecordedUpdate: trainer test-ddp-reference-hand: "):
        run(register_with_optimizer("ddp-reference", "hand"), scenario, data)
    expected = run("ddp-reference", scenario, data)
    assert_same_trace(run(register_with_optimizer("ddp-reference", "change"), scenario, data), expected)
