"""What the real frameworks do with gradient accumulation on 2 gloo ranks, read off their raw traces.

Observed with lightning 2.6.6, accelerate 1.15.0 and transformers 5.24.0 on the CPU, every rank a
fork of this process started the way torchrun starts a script. Scenario: N = 11, B = 2, K = 2,
W = 2, 2 epochs, no shuffle, so every rank runs 3 micro-batches per epoch: one window of 2 and a
tail window of 1 (per rank). A weight is what a sample's fingerprint got at one step.

- lightning: its own DistributedSampler, which shuffles the training data even when the loader
  does not (seed PL_GLOBAL_SEED, else 0) and pads 11 to 12 by repeating the epoch's first sample;
  every micro-batch's mean / K, averaged over ranks: 1/8 everywhere, the tail window included
  (the tail step sums to 1/2).
- accelerate: deals the loader's batches out round robin and fills the last one up from the
  start of the epoch (even_batches): rank 1 ends with [10, 0]; weights as Lightning's.
- accelerate-uneven: no padding (rank 1 ends with [10]); the 1-sample micro-batch weighs 1/4.
- hf-trainer, hf-trainer-items: Accelerate's padded batches; the tail window's loss is divided by
  its 1 micro-batch (hf-trainer) or by its 4 gathered items (hf-trainer-items): 1/4 each, so the
  padded sample 0 weighs 1/8 + 1/4 in its epoch. With every micro-batch padded full the two agree.
- hf-trainer-items-uneven: no padding, the tail's 3 samples get 1/3 each: every sample 1/|window|.
- With even_batches=False and ranks that get different numbers of windows per epoch, the
  frameworks pair one rank's collectives with another's next window and then hang
  (accelerate-uneven) or abort a rank (hf-trainer-items-uneven): the case ends with one line
  naming a rank.
Every rank applied the same gradient as rank 0 at every step.
"""

from __future__ import annotations

import random
import re
from collections import Counter
from functools import cache
from typing import Any

import pytest
from torch.utils.data import DistributedSampler

from accumaudit_probe import ranks, registry
from accumaudit_probe.ranks import RankError
from accumaudit_probe.run import run_scenario
from conftest import parameters_for, scenario_dict

ADAPTERS = (
    "lightning",
    "accelerate",
    "accelerate-uneven",
    "hf-trainer",
    "hf-trainer-items",
    "hf-trainer-items-uneven",
)
FRAMEWORKS = {
    "lightning": "lightning",
    "accelerate": "accelerate",
    "accelerate-uneven": "accelerate",
    "hf-trainer": "transformers",
    "hf-trainer-items": "transformers",
    "hf-trainer-items-uneven": "transformers",
}


@cache
def dataset(n: int) -> tuple[list[list[float]], list[float]]:
    rng = random.Random(11)
    features = [[rng.gauss(0, 1) for _ in range(3)] for _ in range(n)]
    labels = [float(rng.random() < 0.5) for _ in range(n)]
    return features, labels


def scenario(**overrides: Any) -> dict[str, Any]:
    return scenario_dict(
        **{"datasetSize": 11, "batchSize": 2, "accumulation": 2, "worldSize": 2, "model": "logistic", **overrides}
    )


@cache
def cached_run(trainer: str, *overrides: tuple[str, Any]) -> dict[str, Any]:
    """One W = 2 run per trainer and scenario for the whole module (the traces are only read)."""
    s = scenario(**dict(overrides))
    features, labels = dataset(s["datasetSize"])
    return run_scenario(trainer, s, features, labels, parameters_for(s["model"]))


def weights(step: dict[str, Any]) -> dict[tuple[int, int], float]:
    """(epoch, sample) -> weight of one step's applied fingerprint gradient."""
    f = step["fingerprint"]
    return {(e, s): w for e, s, w in zip(f["epochs"], f["samples"], f["weights"], strict=True)}


def micro_batches(trace: dict[str, Any], epoch: int, rank: int) -> list[list[int]]:
    return [m["samples"] for m in trace["microBatches"] if m["epoch"] == epoch and m["rank"] == rank]


def approx(expected: dict[int, float], epoch: int) -> dict[tuple[int, int], Any]:
    return {(epoch, sample): pytest.approx(weight, rel=1e-6) for sample, weight in expected.items()}


def distributed_sampler_order(epoch: int, rank: int, seed: int) -> list[int]:
    """What torch's DistributedSampler(shuffle=True) gives ``rank`` of 2 over 11 samples in ``epoch``."""
    sampler = DistributedSampler(range(11), num_replicas=2, rank=rank, shuffle=True, seed=seed)
    sampler.set_epoch(epoch)
    return list(sampler)


# -- what every adapter does the same way ------------------------------------------------------------


def test_the_framework_adapters_are_registered_data_parallel():
    assert set(ADAPTERS) <= set(registry.distributed_names())
    assert "hf-trainer-kwargs" not in registry.distributed_names()


@pytest.mark.parametrize("trainer", ADAPTERS)
def test_every_rank_runs_the_framework_and_applies_rank_0s_gradient(trainer):
    trace = cached_run(trainer)
    assert trace["trainer"]["framework"] == FRAMEWORKS[trainer]
    assert [replica["rank"] for replica in trace["replicas"]] == [1]
    replica = trace["replicas"][0]["steps"]
    assert len(trace["steps"]) == len(replica) == 4  # 2 windows per epoch, the tail window stepped
    for step, other in zip(trace["steps"], replica, strict=True):
        assert other["fingerprint"] == step["fingerprint"]
        assert other["body"] == step["body"]
    assert [m["rank"] for m in trace["microBatches"]] == [0] * 6 + [1] * 6


@pytest.mark.parametrize("trainer", ADAPTERS)
def test_no_step_mixes_epochs_and_every_sample_is_seen_each_epoch(trainer):
    trace = cached_run(trainer)
    for step in trace["steps"]:
        assert {e for e, _ in weights(step)} == {step["epoch"]}
    for epoch in range(2):
        seen = {s for rank in range(2) for batch in micro_batches(trace, epoch, rank) for s in batch}
        assert seen == set(range(11))


# -- lightning -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("shuffle", "seed"), [(False, 0), (3, 3)])
def test_lightning_shuffles_with_its_distributed_sampler_and_pads_with_the_first_sample(shuffle, seed):
    trace = cached_run("lightning", ("shuffle", shuffle))
    for epoch in range(2):
        orders = [distributed_sampler_order(epoch, rank, seed) for rank in range(2)]
        for rank in range(2):
            assert micro_batches(trace, epoch, rank) == [orders[rank][i : i + 2] for i in range(0, 6, 2)]
        duplicated = Counter(orders[0] + orders[1]) - Counter(range(11))
        assert list(duplicated) == [orders[0][0]]  # 11 padded to 12 with the epoch's first sample


def test_lightning_divides_every_micro_batch_by_k_the_tail_window_included():
    trace = cached_run("lightning")
    for epoch in range(2):
        shards = [micro_batches(trace, epoch, rank) for rank in range(2)]
        first = {s: 1 / 8 for shard in shards for batch in shard[:2] for s in batch}
        tail = {s: 1 / 8 for shard in shards for s in shard[2]}  # one micro-batch per rank, still / K
        assert weights(trace["steps"][2 * epoch]) == approx(first, epoch)
        assert weights(trace["steps"][2 * epoch + 1]) == approx(tail, epoch)
        assert sum(weights(trace["steps"][2 * epoch + 1]).values()) == pytest.approx(0.5)


# -- accelerate ------------------------------------------------------------------------------------------

# Accelerate's shards of the unshuffled loader: batches dealt out round robin; with even_batches the
# last batch is filled up with the epoch's first sample.
EVEN_SHARDS = {0: [[0, 1], [4, 5], [8, 9]], 1: [[2, 3], [6, 7], [10, 0]]}
UNEVEN_SHARDS = {0: [[0, 1], [4, 5], [8, 9]], 1: [[2, 3], [6, 7], [10]]}
FIRST_WINDOW = {s: 1 / 8 for s in range(8)}
TAIL_WEIGHTS = {
    "accelerate": {0: 1 / 8, 8: 1 / 8, 9: 1 / 8, 10: 1 / 8},
    "accelerate-uneven": {8: 1 / 8, 9: 1 / 8, 10: 1 / 4},
    "hf-trainer": {0: 1 / 4, 8: 1 / 4, 9: 1 / 4, 10: 1 / 4},
    "hf-trainer-items": {0: 1 / 4, 8: 1 / 4, 9: 1 / 4, 10: 1 / 4},
    "hf-trainer-items-uneven": {8: 1 / 3, 9: 1 / 3, 10: 1 / 3},
}


@pytest.mark.parametrize("trainer", sorted(TAIL_WEIGHTS))
def test_accelerate_based_adapters_shard_batches_round_robin_and_weigh_the_tail_as_seen(trainer):
    trace = cached_run(trainer)
    shards = UNEVEN_SHARDS if trainer.endswith("-uneven") else EVEN_SHARDS
    for epoch in range(2):
        for rank in range(2):
            assert micro_batches(trace, epoch, rank) == shards[rank]
        assert weights(trace["steps"][2 * epoch]) == approx(FIRST_WINDOW, epoch)
        assert weights(trace["steps"][2 * epoch + 1]) == approx(TAIL_WEIGHTS[trainer], epoch)


@pytest.mark.parametrize(
    ("trainer", "total"), [("accelerate", 1 / 4), ("hf-trainer", 3 / 8), ("hf-trainer-items", 3 / 8)]
)
def test_the_padded_sample_is_applied_twice_in_its_epoch(trainer, total):
    trace = cached_run(trainer)
    applied = sum(weights(step).get((0, 0), 0.0) for step in trace["steps"])
    assert applied == pytest.approx(total)


@pytest.mark.parametrize(
    ("trainer", "weight"), [("accelerate-uneven", 1 / 16), ("hf-trainer-items-uneven", 1 / 10)]
)
def test_uneven_shards_with_equal_window_counts_run(trainer, weight):
    # N = 10, K = 4: rank 0 gets 3 micro-batches and rank 1 gets 2, one window each.
    trace = cached_run(trainer, ("datasetSize", 10), ("accumulation", 4))
    assert [len(micro_batches(trace, 0, rank)) for rank in range(2)] == [3, 2]
    assert len(trace["steps"]) == 2
    assert weights(trace["steps"][0]) == approx({s: weight for s in range(10)}, 0)


@pytest.mark.parametrize("trainer", ["accelerate-uneven", "hf-trainer-items-uneven"])
def test_uneven_shards_with_unequal_window_counts_end_the_case_naming_a_rank(trainer, monkeypatch):
    # N = 10, K = 2: 3 and 2 micro-batches, 2 and 1 windows; the framework hangs or aborts a rank.
    monkeypatch.setattr(ranks, "HANG_GRACE_S", 2.0)
    monkeypatch.setattr(ranks, "STALL_S", 5.0)
    with pytest.raises(RankError) as caught:
        cached_run(trainer, ("datasetSize", 10))
    message = str(caught.value)
    assert "\n" not in message
    assert re.match(r"^ranks? [\d, ]+ of 2 (hung|exited|failed)", message), message
