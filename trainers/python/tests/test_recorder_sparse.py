"""The recorder reads a fingerprint gradient from its candidate entries only when that provably equals
the full scan ``torch.nonzero(grad != 0)``: a property test over seeded random scenarios.

Every read of every run here is checked against the full scan of the same tensor (the recorder's
former code, kept below as ``full_scan_entries``): loops that never clear ``.grad`` (leftovers), L2
and L1 penalties over all parameters in the loss, fp16 with GradScaler (skipped steps, inf/nan
gradients, unscale and clipping), the body models, momentum and Adam, ``record_step`` by ``.grad``
and by the change / lr, out-of-band edits of ``.grad`` and of the parameter, the built-in loops and
a data-parallel run.
"""

from __future__ import annotations

import copy
import math
import pickle
import random
import struct
from typing import Any

import pytest
import torch

from accumaudit_probe import recorder as recorder_module
from accumaudit_probe.context import RunContext
from accumaudit_probe.probe import ProbeDataset, ProbeModel
from accumaudit_probe.recorder import Recorder, full_scan_index, sparse_nonzero_index
from accumaudit_probe.rank_process import import_before_fork
from accumaudit_probe.run import run_scenario
from conftest import causal_lm_parameters, parameters_for, scenario_dict, token_sequences

SCENARIOS = 300


def full_scan_entries(grad: torch.Tensor | None, coefficient: float, n: int) -> dict[str, list[Any]]:
    """The recorder's read before candidates: a scan of every entry."""
    if grad is None:
        return {"epochs": [], "samples": [], "weights": []}
    grad = grad.detach().reshape(-1)
    index = torch.nonzero(grad != 0, as_tuple=True)[0]
    weights = (grad[index].double() / coefficient).cpu()
    index = index.cpu()
    return {"epochs": (index // n).tolist(), "samples": (index % n).tolist(), "weights": weights.tolist()}


def bits(values: list[float]) -> list[bytes]:
    """Floats as their bytes, so that NaN equals NaN and -0.0 differs from 0.0."""
    return [struct.pack("<d", v) for v in values]


def same_entries(a: dict[str, list[Any]], b: dict[str, list[Any]]) -> bool:
    return a["epochs"] == b["epochs"] and a["samples"] == b["samples"] and bits(a["weights"]) == bits(b["weights"])


class Reads:
    """Counts the recorder's reads and checks each against the full scan of the same tensor."""

    def __init__(self) -> None:
        self.reads = 0
        self.sparse = 0
        self.nonzero = 0


@pytest.fixture
def checked_reads(monkeypatch):
    reads = Reads()
    original = Recorder._fingerprint_entries

    def checked(self: Recorder, grad: torch.Tensor | None) -> tuple[dict[str, list[Any]], torch.Tensor]:
        expected = full_scan_entries(None if grad is None else grad.clone(), self.model.coefficient, self.model.dataset_size)
        sparse_before = self.sparse_reads
        got, index = original(self, grad)
        assert same_entries(got, expected), f"read {reads.reads}: {got} != full scan {expected}"
        assert index.cpu().tolist() == [e * self.model.dataset_size + s for e, s in zip(got["epochs"], got["samples"])]
        reads.reads += 1
        reads.sparse += self.sparse_reads - sparse_before
        reads.nonzero += len(expected["samples"])
        return got, index

    monkeypatch.setattr(Recorder, "_fingerprint_entries", checked)
    return reads


@pytest.fixture(autouse=True)
def candidates_at_every_size(monkeypatch):
    """These tests' fingerprints are small, and below SPARSE_READ_FROM entries the recorder scans in
    full: here every size is read from the candidates where it can be."""
    monkeypatch.setattr(recorder_module, "SPARSE_READ_FROM", 0)


def test_fingerprints_below_the_threshold_are_scanned_in_full(checked_reads, data, monkeypatch):
    monkeypatch.setattr(recorder_module, "SPARSE_READ_FROM", 40)
    for n, from_candidates in [(19, False), (20, True)]:  # 2 epochs x n entries
        reads_before, sparse_before = checked_reads.reads, checked_reads.sparse
        scenario = scenario_dict(datasetSize=n, batchSize=3, accumulation=2)
        features, labels = data(n)
        trace = run_scenario("reference", scenario, features, labels, parameters_for("logistic"))
        reads = checked_reads.reads - reads_before
        assert reads == len(trace["steps"]) > 0
        assert checked_reads.sparse - sparse_before == (reads if from_candidates else 0), n


# -- the exactness of one read ------------------------------------------------------------------


def random_tensor(rng: random.Random, size: int, dtype: torch.dtype) -> torch.Tensor:
    t = torch.zeros(size, dtype=torch.float64)
    for _ in range(rng.randint(0, max(1, size // 3))):
        t[rng.randrange(size)] = rng.choice(
            [rng.gauss(0, 1), 1e-40, -1e-45, 5e-324, -0.0, math.inf, -math.inf, math.nan, 1e30, 2.0**-24]
        )
    return t.to(dtype)


@pytest.mark.parametrize("seed", range(40))
def test_sparse_index_equals_the_full_scan_or_declines(seed):
    rng = random.Random(seed)
    for _ in range(50):
        size = rng.randint(1, 60)
        dtype = rng.choice([torch.float32, torch.float64, torch.float16, torch.bfloat16])
        grad = random_tensor(rng, size, dtype)
        full = full_scan_index(grad)
        support = full.tolist()
        # the entries that are not +0.0 (the support, and any -0.0): candidates covering them never miss
        signed = [i for i, v in enumerate(grad.double().tolist()) if not (v == 0 and math.copysign(1.0, v) > 0)]
        kind = rng.randrange(5)
        if kind == 0:  # a superset of them, with repeats and invalid indices
            candidates = signed + [rng.randrange(-size, 2 * size) for _ in range(rng.randint(0, 10))] + signed
        elif kind == 1:  # the support less one entry
            candidates = support[:-1] if support else []
        elif kind == 2:  # anything
            candidates = [rng.randrange(-size, 2 * size) for _ in range(rng.randint(0, 2 * size))]
        elif kind == 3:  # exactly the support, shuffled (declines when a -0.0 lies outside it)
            candidates = support[:]
            rng.shuffle(candidates)
        else:
            candidates = signed[::-1]
        got = sparse_nonzero_index(grad, torch.tensor(candidates, dtype=torch.int64))
        if set(signed) <= set(candidates):
            assert got is not None
        if not set(support) <= set(candidates):
            assert got is None
        if got is not None:
            assert got.dtype == full.dtype and got.tolist() == support


# -- generated training loops ---------------------------------------------------------------------


class HandSGD:
    """Plain SGD outside torch.optim, applying ``.grad`` (recorded with ctx.record_step)."""

    def __init__(self, ctx: RunContext, by_change: bool, clears: bool):
        self.ctx, self.by_change, self.clears = ctx, by_change, clears
        self.parameters = list(ctx.model.parameters())

    def step(self) -> None:
        with self.ctx.record_step(learning_rate=self.ctx.learning_rate if self.by_change else None):
            with torch.no_grad():
                for p in self.parameters:
                    if p.grad is not None:
                        p -= self.ctx.learning_rate * p.grad
                        if self.clears:
                            p.grad = None

    def zero_grad(self, set_to_none: bool = True) -> None:
        for p in self.parameters:
            if set_to_none:
                p.grad = None
            elif p.grad is not None:
                p.grad.zero_()


def mean_per_sample_loss(model: ProbeModel, x: torch.Tensor, y: torch.Tensor, ids: torch.Tensor) -> torch.Tensor:
    return model.per_sample_loss(x, y, ids).mean()


def generated_loop(rng: random.Random, ctx: RunContext, micro_batch_loss: Any = mean_per_sample_loss) -> None:
    """One random accumulation loop: zeroing, penalties, optimizer, precision and edits drawn from rng."""
    model = ctx.model
    zeroing = rng.choice(["every step", "never", "every other step", "epoch start", "zero_ not none"])
    l2 = rng.choice([0.0, 0.0, 0.01, 0.5])
    l1 = rng.choice([0.0, 0.0, 0.1])
    optimizer_kind = rng.choice(["sgd", "momentum", "adam", "hand", "hand-change", "hand-change-keeps"])
    fp16 = rng.random() < 0.3
    edit_grad = rng.random() < 0.2
    edit_parameter = rng.random() < 0.1
    poison = rng.random() < 0.15  # sometimes an inf loss: GradScaler skips, or a nan gradient is read
    clip = rng.random() < 0.3
    if optimizer_kind == "sgd":
        optimizer: Any = torch.optim.SGD(model.parameters(), lr=ctx.learning_rate)
    elif optimizer_kind == "momentum":
        optimizer = torch.optim.SGD(model.parameters(), lr=ctx.learning_rate, momentum=0.9, weight_decay=0.01)
    elif optimizer_kind == "adam":
        optimizer = torch.optim.Adam(model.parameters(), lr=ctx.learning_rate)
    else:
        optimizer = HandSGD(ctx, by_change=optimizer_kind != "hand", clears=optimizer_kind != "hand-change-keeps")
    torch_optimizer = isinstance(optimizer, torch.optim.Optimizer)
    scaler = torch.amp.GradScaler("cpu", enabled=fp16 and torch_optimizer, init_scale=rng.choice([1.0, 2.0**16, 2.0**100]))
    loader = ctx.make_loader(shuffle_seed=rng.choice([None, rng.randrange(100)]))
    k = ctx.accumulation
    steps = 0
    for epoch in ctx.epochs_iter():
        if zeroing == "epoch start":
            optimizer.zero_grad()
        for i, batch in enumerate(loader):
            x, y, ids = ctx.to_device(batch)
            with torch.autocast("cpu", dtype=torch.float16, enabled=fp16):
                loss = micro_batch_loss(model, x, y, ids) / k
            if l2:
                loss = loss + l2 * sum((p.float() ** 2).sum() for p in model.parameters())
            if l1:
                loss = loss + l1 * model.fingerprint.abs().sum()
            if poison and rng.random() < 0.1:
                loss = loss * math.inf
            scaler.scale(loss).backward()
            if edit_grad and rng.random() < 0.3 and model.fingerprint.grad is not None:
                with torch.no_grad():  # a user's out-of-band edit anywhere in .grad
                    model.fingerprint.grad.data[rng.randrange(model.fingerprint.numel())] += rng.choice([1.0, -0.0, 1e-30])
            if edit_parameter and rng.random() < 0.3:
                with torch.no_grad():
                    model.fingerprint[rng.randrange(model.fingerprint.numel())] = rng.gauss(0, 1)
            if (i + 1) % k != 0 and rng.random() < 0.9:
                continue
            if scaler.is_enabled():
                if clip:
                    scaler.unscale_(optimizer)
                    torch.nn.utils.clip_grad_norm_(model.parameters(), 0.5)
                scaler.step(optimizer)
                scaler.update()
            else:
                if clip:
                    torch.nn.utils.clip_grad_norm_(model.parameters(), 0.5)
                optimizer.step()
            steps += 1
            if zeroing == "every step" or (zeroing == "every other step" and steps % 2 == 0):
                optimizer.zero_grad()
            elif zeroing == "zero_ not none":
                optimizer.zero_grad(set_to_none=False)


def run_generated(seed: int) -> Recorder:
    rng = random.Random(seed)
    model_kind = rng.choice(["fingerprint", "logistic", "mlp"])
    scenario = scenario_dict(
        datasetSize=rng.randint(1, 40),
        batchSize=rng.randint(1, 8),
        accumulation=rng.randint(1, 4),
        epochs=rng.randint(1, 3),
        model=model_kind,
        dropLast=rng.random() < 0.3,
    )
    features = [[rng.gauss(0, 1) for _ in range(3)] for _ in range(scenario["datasetSize"])]
    labels = [float(rng.random() < 0.5) for _ in range(scenario["datasetSize"])]
    torch.manual_seed(seed)
    dataset = ProbeDataset(features, labels)
    model = ProbeModel(scenario, parameters_for(model_kind))
    recorder = Recorder(model)
    ctx = RunContext(scenario, dataset, model, "cpu", recorder=recorder)
    with recorder:
        generated_loop(rng, ctx)
    return recorder


TOKEN_LOSSES = [
    mean_per_sample_loss,
    lambda model, x, y, ids: model(x, y, ids).loss,  # the micro-batch's token mean
    lambda model, x, y, ids: model.loss_terms(x, y, ids).sum() / max(int(model.loss_units(y)), 1),
]


def run_generated_tokens(seed: int) -> Recorder:
    """A generated loop under token weighting: ragged sequences (some without loss tokens), so every
    micro-batch gathers the fingerprint entry of a sample once per loss token."""
    rng = random.Random(seed)
    model_kind = rng.choice(["fingerprint", "causal-lm"])
    scenario = scenario_dict(
        datasetSize=rng.randint(1, 20),
        batchSize=rng.randint(1, 6),
        accumulation=rng.randint(1, 4),
        epochs=rng.randint(1, 3),
        model=model_kind,
        weighting="tokens",
        dropLast=rng.random() < 0.3,
    )
    n = scenario["datasetSize"]
    tokens = token_sequences(n, [rng.randint(0, 4) for _ in range(rng.randint(1, 5))], seed)
    torch.manual_seed(seed)
    dataset = ProbeDataset([[0.0] * 3] * n, [0.0] * n, tokens=tokens)
    model = ProbeModel(scenario, causal_lm_parameters(seed) if model_kind == "causal-lm" else [])
    recorder = Recorder(model)
    ctx = RunContext(scenario, dataset, model, "cpu", recorder=recorder)
    with recorder:
        generated_loop(rng, ctx, TOKEN_LOSSES[seed % len(TOKEN_LOSSES)])
    return recorder


def count_reads(run, seeds: int, monkeypatch) -> tuple[int, int]:
    """Runs ``run(seed)`` for every seed, half of them trying candidates at every read (no full
    scans after a miss); returns the recorders' sparse reads and full scans, summed."""
    sparse_reads = full_scans = 0
    for seed in range(seeds):
        monkeypatch.setattr(recorder_module, "FULL_SCANS_AFTER_MISS", 0 if seed % 2 else 8)
        recorder = run(seed)
        sparse_reads += recorder.sparse_reads
        full_scans += recorder.full_scans
    return sparse_reads, full_scans


def test_generated_token_loops_read_what_the_full_scan_reads(checked_reads, monkeypatch):
    """Token weighting: repeated fingerprint indices in a micro-batch (one per loss token) and
    samples without loss tokens change nothing: every read equals the full scan."""
    sparse_reads, full_scans = count_reads(run_generated_tokens, 40, monkeypatch)
    assert checked_reads.reads == sparse_reads + full_scans
    assert sparse_reads > 3 * full_scans, (sparse_reads, full_scans)
    assert checked_reads.nonzero > 100


def test_generated_loops_read_what_the_full_scan_reads(checked_reads, monkeypatch):
    """300 generated loops; half of them try candidates at every read (no full scans after a miss)."""
    sparse_reads, full_scans = count_reads(run_generated, SCENARIOS, monkeypatch)
    assert checked_reads.reads == sparse_reads + full_scans
    # The candidates are the common path; the full scan is the exception (edits, nan, ranks).
    assert sparse_reads > 3 * full_scans, (sparse_reads, full_scans)
    assert checked_reads.nonzero > 1000
    print(f"generated loops: {checked_reads.reads} reads, {sparse_reads} from candidates, {full_scans} full scans,"
          f" {checked_reads.nonzero} non-zero entries")


# -- the built-in loops, record_step, fp16, a data-parallel run -------------------------------------


@pytest.mark.parametrize(
    "trainer, overrides",
    [
        ("reference", {}),
        ("reference", {"model": "mlp", "shuffle": 5, "epochs": 3}),
        ("reference", {"precision": "fp16", "model": "logistic"}),
        ("docs-loop", {}),
        ("docs-loop", {"model": "mlp", "datasetSize": 37, "accumulation": 3}),
        ("two-loop", {"shuffle": 2}),
        ("tail-step", {}),
        ("k-plus-one", {"model": "fingerprint"}),
    ],
)
def test_built_in_loops_read_what_the_full_scan_reads(checked_reads, data, trainer, overrides):
    scenario = scenario_dict(**overrides)
    features, labels = data(scenario["datasetSize"])
    trace = run_scenario(trainer, scenario, features, labels, parameters_for(scenario["model"]))
    assert checked_reads.reads == sum(1 for step in trace["steps"] if not step["skipped"])
    assert checked_reads.sparse == checked_reads.reads  # these loops' reads all come from the candidates


@pytest.mark.parametrize("trainer", ["token-reference", "reference", "docs-loop", "two-loop", "tail-step"])
def test_built_in_loops_read_what_the_full_scan_reads_under_token_weighting(checked_reads, trainer):
    scenario = scenario_dict(datasetSize=23, batchSize=3, accumulation=2, model="causal-lm", weighting="tokens", shuffle=4)
    tokens = token_sequences(23, [3, 0, 1, 5, 2])
    trace = run_scenario(trainer, scenario, [[0.0] * 3] * 23, [0.0] * 23, causal_lm_parameters(), tokens=tokens)
    assert checked_reads.reads == sum(1 for step in trace["steps"] if not step["skipped"]) > 0
    assert checked_reads.sparse == checked_reads.reads


def test_a_data_parallel_run_reads_what_the_full_scan_reads(checked_reads, data):
    """Each rank's recorder sees its own forwards only; the all-reduced gradient holds the others'
    samples too, so candidates miss and the read falls back to the full scan (checked inside every rank)."""
    import_before_fork()
    scenario = scenario_dict(worldSize=2, datasetSize=37, batchSize=4, accumulation=2)
    features, labels = data(37)
    trace = run_scenario("ddp-reference", scenario, features, labels, parameters_for("logistic"), timeout_s=120)
    applied = [step for step in trace["steps"] if not step["skipped"]]
    assert sorted(s for step in applied for s in step["fingerprint"]["samples"]) == sorted(list(range(37)) * 2)
    for replica in trace["replicas"]:  # every rank holds the same all-reduced gradient
        assert [step["fingerprint"] for step in replica["steps"]] == [step["fingerprint"] for step in trace["steps"]]


@pytest.mark.parametrize(
    "trainer, framework",
    [
        ("lightning", "lightning"),
        ("accelerate", "accelerate"),
        ("hf-trainer", "transformers"),
        ("ignite", "ignite"),
        ("poutyne", "poutyne"),
        ("keras", "accumaudit_probe.adapters.with_keras"),  # sets KERAS_BACKEND=torch before keras is imported
        ("fastai", "fastai"),
        ("fastai-native", "fastai"),
        ("mmengine", "mmengine"),
    ],
)
def test_adapters_read_what_the_full_scan_reads(checked_reads, data, trainer, framework):
    """The adapters forward through the probe model, so their reads come from the candidates too."""
    pytest.importorskip(framework)
    scenario = scenario_dict(datasetSize=21, batchSize=4, accumulation=2, model="mlp")
    features, labels = data(21)
    trace = run_scenario(trainer, scenario, features, labels, parameters_for("mlp"))
    assert checked_reads.reads == sum(1 for step in trace["steps"] if not step["skipped"]) > 0
    assert checked_reads.sparse == checked_reads.reads


# -- batched loading ---------------------------------------------------------------------------------


def same_batch(a: dict[str, torch.Tensor], b: dict[str, torch.Tensor]) -> bool:
    return list(a) == list(b) and all(
        a[k].dtype == b[k].dtype and a[k].shape == b[k].shape and torch.equal(a[k], b[k]) for k in a
    )


@pytest.mark.parametrize("seed", range(5))
def test_batched_items_equal_the_items_one_by_one(data, seed):
    from torch.utils.data import DataLoader, Subset, default_collate

    from accumaudit_probe.probe import collate

    rng = random.Random(seed)
    features, labels = data(30)
    dataset = ProbeDataset(features, labels)
    for _ in range(20):
        indices = [rng.randrange(-30, 30) for _ in range(rng.randint(1, 12))]
        one_by_one = [dataset[i] for i in indices]
        items = dataset.__getitems__(indices)
        assert type(items) is not list and isinstance(items, list) and len(items) == len(one_by_one)
        assert all(same_batch(a, b) for a, b in zip(items, one_by_one, strict=True))
        assert same_batch(collate(items), default_collate(one_by_one))
        assert same_batch(default_collate(items), default_collate(one_by_one))
    with pytest.raises(IndexError):
        dataset.__getitems__([1, 30])
    with pytest.raises(IndexError):
        dataset.__getitems__([1.0])  # as dataset[1.0] raises
    subset = Subset(dataset, [4, 2, 9])
    assert same_batch(next(iter(DataLoader(subset, batch_size=3, collate_fn=collate))), default_collate([dataset[i] for i in (4, 2, 9)]))
    ctx = RunContext(scenario_dict(datasetSize=30, batchSize=7, shuffle=3), dataset, ProbeModel(scenario_dict(datasetSize=30), parameters_for("logistic")), "cpu")
    plain = DataLoader(dataset, batch_size=7, shuffle=True, generator=torch.Generator().manual_seed(3))
    assert all(same_batch(a, b) for a, b in zip(ctx.make_loader(), plain, strict=True))
    # a loader with its own collate_fn, or without batching, gets what it got before
    assert ctx.make_loader(collate_fn=lambda items: items).collate_fn is not collate
    assert isinstance(next(iter(ctx.make_loader(collate_fn=lambda items: items))), list)
    assert next(iter(ctx.make_loader(batch_size=None, shuffle_seed=None)))["ids"].dim() == 0


def same_items(a: list[dict[str, torch.Tensor]], b: list[dict[str, torch.Tensor]]) -> bool:
    return len(a) == len(b) and all(same_batch(x, y) for x, y in zip(a, b, strict=True))


def stacked(items: list[dict[str, torch.Tensor]]) -> list[dict[str, torch.Tensor]]:
    """The items' fields stacked through ``zip(*...)``, the way hand-written collate_fns often do it."""
    columns = zip(*[(item["x"][:1], item["y"].reshape(-1)[:1], item["ids"]) for item in items], strict=True)
    return [dict(zip(("x", "y", "ids"), (torch.stack(column) for column in columns), strict=True))]


#: Ways a collate_fn may use the list it is given; each returns a list of items or a plain value.
LIST_USES: dict[str, Any] = {
    "len": len,
    "iter": lambda items: list(iter(items)),
    "index": lambda items: [items[1], items[-1]],
    "slice": lambda items: items[1:3],
    "reversed": lambda items: list(reversed(items)),
    "bool": bool,
    "contains": lambda items: items[0] in items,
    "copy": lambda items: items.copy(),
    "add": lambda items: items + [items[0]],
    "append": lambda items: (items.append(items[0]), items)[1],
    "pop": lambda items: (items.pop(), items)[1],
    "setitem": lambda items: (items.__setitem__(0, items[2]), items)[1],
    "star": lambda items: [*items],
    "zip": stacked,
    "pickle": lambda items: pickle.loads(pickle.dumps(items)),
    "deepcopy": copy.deepcopy,
}


@pytest.mark.parametrize("tokens", [False, True], ids=["samples", "tokens"])
@pytest.mark.parametrize("use", LIST_USES)
def test_gathered_items_are_made_on_first_use_and_then_act_as_the_list_one_by_one(data, use, tokens):
    """ProbeItems makes its items only when used as a list; whatever the use, it acts as the eager list."""
    from accumaudit_probe.probe import ProbeItems, collate

    features, labels = data(8)
    dataset = ProbeDataset(features, labels, tokens=token_sequences(8, [1, 3, 0, 2]) if tokens else None)
    indices = [5, 0, 7, 3]
    items = dataset.__getitems__(indices)
    assert type(items) is ProbeItems and items.unused
    batch = collate(items)  # the loaders' path reads the gathered batch and makes no items
    assert items.unused and list.__len__(items) == 0
    assert same_batch(batch, collate([dataset[i] for i in indices]))
    eager = [dataset[i] for i in indices]
    lazy_result, eager_result = LIST_USES[use](items), LIST_USES[use](eager)
    assert not items.unused and list.__len__(items) == len(eager)
    if isinstance(eager_result, list):
        assert same_items(lazy_result, eager_result)
    else:
        assert lazy_result == eager_result
    assert same_items(list.copy(items), eager)  # a mutation landed in the list itself, as in the eager one
    # once used, collate stacks the items as they now are, not the batch gathered before
    assert same_batch(collate(items), collate(eager))


def test_a_loader_worker_sends_gathered_items_back_as_the_items(data):
    """With a collate_fn that returns the list itself, items made in a loader worker cross to this process."""
    from torch.utils.data import DataLoader

    features, labels = data(10)
    dataset = ProbeDataset(features, labels)
    loader = DataLoader(dataset, batch_size=4, collate_fn=lambda items: items, num_workers=1)
    assert same_items(list(next(iter(loader))), [dataset[i] for i in range(4)])
