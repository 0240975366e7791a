"""Data-parallel runs on real gloo ranks (forks of this process): trace v2, the DDP loops' weights,
the refusal of single-process trainers, describe, and faults that leave no process behind."""

import json
import re
import os
import subprocess
import sys
import time
from collections import Counter, defaultdict

import pytest
import torch

from accumaudit_probe import ranks, registry
from accumaudit_probe.loops import ddp_reference
from accumaudit_probe.rank_process import import_before_fork
from accumaudit_probe.ranks import RankError, run_ranks
from accumaudit_probe.run import Case, RunError, run_rank, run_scenario
from accumaudit_probe.wire import encode_trace, unpack
from accumaudit_probe.worker import handle_describe
from conftest import parameters_for

TESTS = os.path.dirname(os.path.abspath(__file__))
PACKAGE_ROOT = os.path.dirname(TESTS)


def run(name, scenario, data, **options):
    features, labels = data(scenario["datasetSize"])
    return run_scenario(name, scenario, features, labels, parameters_for(scenario["model"]), **options)


def weights(step):
    f = step["fingerprint"]
    return {(e, s): w for e, s, w in zip(f["epochs"], f["samples"], f["weights"], strict=True)}


def windows_of(trace):
    """Each epoch's windows as the oracle builds them: K micro-batches of every rank, the last what is left."""
    k = trace["scenario"]["accumulation"]
    by_rank = defaultdict(list)
    for micro_batch in trace["microBatches"]:
        by_rank[(micro_batch["epoch"], micro_batch["rank"])].append(micro_batch["samples"])
    windows = defaultdict(set)
    for (epoch, _), micro_batches in by_rank.items():
        for i, samples in enumerate(micro_batches):
            windows[(epoch, i // k)].update((epoch, s) for s in samples)
    return [windows[key] for key in sorted(windows)]


def ps():
    """`ps -eo pid,ppid,stat,args` rows as (pid, ppid, stat, args), the ps itself left out."""
    out = subprocess.run(["ps", "-eo", "pid,ppid,stat,args"], capture_output=True, text=True, check=True).stdout
    rows = [line.split(None, 3) for line in out.splitlines()[1:]]
    return [(int(pid), int(ppid), stat, args) for pid, ppid, stat, args in rows if not args.startswith("ps -eo")]


def children_of(pid):
    return [row for row in ps() if row[1] == pid]


# -- trace v2 ------------------------------------------------------------------------------------


def test_one_rank_runs_in_process_and_gives_trace_v2_without_replicas(make_scenario, data):
    trace = run("docs-loop", make_scenario(), data)
    assert trace["version"] == 2 and "replicas" not in trace
    assert {m["rank"] for m in trace["microBatches"]} == {0}
    assert list(trace["microBatches"][0]) == ["epoch", "samples", "stepsBefore", "rank"]


def test_two_ranks_give_rank_0_steps_replicas_and_every_ranks_micro_batches(make_scenario, data):
    trace = run("ddp-reference", make_scenario(worldSize=2), data)
    assert list(trace) == ["format", "version", "trainer", "scenario", "steps", "replicas", "microBatches"]
    assert trace["version"] == 2 and trace["scenario"]["worldSize"] == 2
    assert [m["rank"] for m in trace["microBatches"]] == [0] * 14 + [1] * 14
    assert [m["stepsBefore"] for m in trace["microBatches"][14:21]] == [0, 0, 0, 0, 1, 1, 1]
    (replica,) = trace["replicas"]
    assert replica["rank"] == 1 and len(replica["steps"]) == len(trace["steps"]) == 4
    for mine, theirs in zip(trace["steps"], replica["steps"], strict=True):
        assert weights(theirs) == pytest.approx(weights(mine), abs=1e-12)
        assert theirs["body"]["gradient"] == pytest.approx(mine["body"]["gradient"], abs=1e-12)
        assert theirs["body"]["parametersBefore"] == mine["body"]["parametersBefore"]
    packed = encode_trace(trace)["replicas"][0]["steps"][0]["fingerprint"]["samples"]
    assert unpack(packed) == replica["steps"][0]["fingerprint"]["samples"]


# -- the DDP loops ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("size", "expected"),
    [
        # rank 0 holds 0, 2, ..., 10 (3 micro-batches), rank 1 holds 1, 3, ..., 9 (the last one short)
        (11, [{0, 2, 4, 6, 1, 3, 5, 7}, {8, 10, 9}]),
        # rank 1's shard runs out before the last window: it joins that window with no samples
        (9, [{0, 2, 4, 6, 1, 3, 5, 7}, {8}]),
    ],
)
def test_ddp_reference_weights_every_sample_of_a_window_by_its_global_size(make_scenario, data, size, expected):
    trace = run("ddp-reference", make_scenario(worldSize=2, datasetSize=size, batchSize=2, accumulation=2), data)
    steps = trace["steps"]
    assert [s["epoch"] for s in steps] == [0, 0, 1, 1]
    for step, samples in zip(steps, expected * 2, strict=True):
        w = weights(step)
        assert set(w) == {(step["epoch"], s) for s in samples}
        assert all(v == pytest.approx(1 / len(samples)) for v in w.values())


def test_ddp_reference_covers_every_sample_once_on_three_shuffled_ranks(make_scenario, data):
    trace = run("ddp-reference", make_scenario(worldSize=3, shuffle=4, model="mlp", batchSize=4, accumulation=3), data)
    windows = windows_of(trace)
    assert len(trace["steps"]) == len(windows) == 8
    for step, window in zip(trace["steps"], windows, strict=True):
        assert set(weights(step)) == window
        assert all(v == pytest.approx(1 / len(window)) for v in weights(step).values())
    every_sample_once = Counter({(e, i): 1 for e in (0, 1) for i in range(110)})
    assert Counter(k for s in trace["steps"] for k in weights(s)) == every_sample_once


def test_ddp_reference_redoes_a_window_that_overflows_in_fp16_on_every_rank(make_scenario, data):
    def overflowing(ctx):
        ctx.make_scaler = lambda **_: torch.amp.GradScaler("cpu", init_scale=2.0**40)
        ddp_reference.train(ctx)

    registry.register("test-ddp-overflow", overflowing, distributed=True)
    scenario = make_scenario(
        worldSize=2, datasetSize=20, batchSize=4, accumulation=2, epochs=1, precision="fp16", model="mlp"
    )
    trace = run("test-ddp-overflow", scenario, data)
    for steps in (trace["steps"], trace["replicas"][0]["steps"]):
        applied = [s for s in steps if not s["skipped"]]
        assert len(applied) < len(steps) and len(applied) == 2
        assert Counter(k for s in applied for k in weights(s)) == Counter({(0, i): 1 for i in range(20)})


def test_ddp_docs_loop_pads_with_a_sample_seen_twice_and_leaks_the_tail(make_scenario, data):
    trace = run("ddp-docs-loop", make_scenario(worldSize=2, datasetSize=11, batchSize=2, accumulation=2), data)
    seen = Counter((m["epoch"], s) for m in trace["microBatches"] for s in m["samples"])
    assert [k for k, n in seen.items() if n > 1] == [(0, 0), (1, 0)]
    assert {m["rank"] for m in trace["microBatches"] if m["epoch"] == 0 and 0 in m["samples"]} == {0, 1}
    first, leaked = trace["steps"]
    assert weights(first)[(0, 0)] == pytest.approx(1 / 8)
    assert {s for (e, s) in weights(leaked) if e == 0} == {8, 10, 9, 0}
    assert weights(leaked)[(0, 0)] == pytest.approx(1 / 8)


def test_spawned_ranks_run_the_same_case_as_forked_ones(make_scenario, data):
    """The CUDA path (fresh interpreters), tried on the CPU."""
    features, labels = data(11)
    scenario = make_scenario(worldSize=2, datasetSize=11, batchSize=2, accumulation=2, epochs=1)
    case = Case("ddp-reference", scenario, features, labels, parameters_for("logistic"), "cpu", True)
    spawned = run_ranks(run_rank, (case,), 2, timeout_s=120, spawn=True)
    forked = run_ranks(run_rank, (case,), 2, timeout_s=120)
    assert spawned == forked
    assert [len(weights(step)) for step in spawned[1]["steps"]] == [8, 3]


# -- which trainers run data-parallel ------------------------------------------------------------------


def test_a_single_process_trainer_is_refused_with_one_line(make_scenario, data):
    with pytest.raises(RunError) as refused:
        run("docs-loop", make_scenario(worldSize=2), data)
    assert str(refused.value) == (
        "trainer docs-loop: world size 2: expected 1 (it runs in one process;"
        " the data-parallel trainers are ddp-docs-loop, ddp-tail-step, ddp-reference"
        + "".join(f", {name}" for name in registry.distributed_names()[3:])
        + ")"
    )
    with pytest.raises(RunError, match=r"unless marked with @accumaudit_probe\.distributed"):
        run("rank_trainers:single_process", make_scenario(worldSize=2), data)


def test_describe_gives_the_largest_world_size_and_the_step_fields(make_scenario):
    def describe(trainer):
        return handle_describe({"type": "describe", "id": 3, "trainer": trainer})

    every = ["clipNorm", "schedule", "warmupSteps", "ema", "optimizer", "overflowStep"]
    assert describe("ddp-reference") == {
        "type": "description",
        "id": 3,
        "trainer": "ddp-reference",
        "maxWorldSize": 8,
        "stepFields": every,
    }
    assert describe("docs-loop")["stepFields"] == []
    assert describe("poutyne")["stepFields"] == ["clipNorm", "schedule", "warmupSteps", "optimizer"]
    assert describe("rank_trainers:sleep")["stepFields"] == every
    assert describe("reference")["maxWorldSize"] == 1
    assert describe("rank_trainers:sleep")["maxWorldSize"] == 8
    assert describe("rank_trainers:single_process")["maxWorldSize"] == 1
    with pytest.raises(registry.TrainerUnavailable):
        describe("no-such-trainer")


# -- faults ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("trainer", "message"),
    [
        (
            "raise_on_rank_1",
            r"^rank 1 of 2 failed: ValueError: rank 1 has no data \(rank_trainers\.py:\d+ in raise_on_rank_1\)$",
        ),
        (
            "sys_exit_on_rank_1",
            r"^rank 1 of 2 exited with code 3 \(sys\.exit at rank_trainers\.py:\d+ in sys_exit_on_rank_1\)$",
        ),
        ("os_exit_on_rank_1", r"^rank 1 of 2 exited with code 3$"),
        (
            "all_reduce_on_rank_1_only",
            r"^rank 1 of 2 hung after rank 0 finished: waiting in all_reduce \(torch/distributed/distributed_c10d\.py\)"
            r" called from rank_trainers\.py:\d+ in all_reduce_on_rank_1_only$",
        ),
        (
            "sleep",
            r"^ranks 0, 1 of 2 hung for 1\.8 s of the case's 2 s timeout: rank 0 waiting at rank_trainers\.py:\d+ in sleep;",
        ),
    ],
)
def test_a_fault_on_a_rank_is_one_line_in_bounded_time_and_no_rank_is_left(
    make_scenario, data, monkeypatch, trainer, message
):
    import_before_fork()  # a worker's first data-parallel case imports torch._dynamo (seconds): not timed here
    monkeypatch.setattr(ranks, "HANG_GRACE_S", 1.0)
    started = time.monotonic()
    with pytest.raises(RankError, match=message) as failed:
        run(f"rank_trainers:{trainer}", make_scenario(worldSize=2, datasetSize=4), data, timeout_s=2)
    assert "\n" not in str(failed.value)
    assert time.monotonic() - started < 8
    assert children_of(os.getpid()) == []


def test_ranks_that_all_stop_making_progress_count_as_hung_before_the_timeout(make_scenario, data, monkeypatch):
    import_before_fork()
    monkeypatch.setattr(ranks, "STALL_S", 1.5)
    started = time.monotonic()
    with pytest.raises(RankError) as failed:
        run("rank_trainers:stall_after_a_step", make_scenario(worldSize=2, datasetSize=4), data, timeout_s=60)
    assert re.match(
        r"^ranks 0, 1 of 2 hung with no forward pass or step on any rank for 1\.5 s: rank 0 waiting at rank_trainers\.py:\d+"
        r" in stall_after_a_step;",
        str(failed.value),
    ), str(failed.value)
    assert time.monotonic() - started < 10
    assert children_of(os.getpid()) == []


def test_killing_the_worker_kills_its_ranks(make_scenario, data):
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([TESTS, PACKAGE_ROOT, os.environ.get("PYTHONPATH", "")])}
    worker = subprocess.Popen(
        [sys.executable, "-m", "accumaudit_probe.worker"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=env,
    )
    rank_pids = []
    try:
        hello = json.loads(worker.stdout.readline())
        assert hello["distributed"][:3] == ["ddp-docs-loop", "ddp-tail-step", "ddp-reference"]
        worker.stdin.write(json.dumps({"type": "describe", "id": 1, "trainer": "ddp-tail-step"}) + "\n")
        worker.stdin.flush()
        assert json.loads(worker.stdout.readline())["maxWorldSize"] == 8
        features, labels = data(4)
        request = {
            "type": "run",
            "id": 2,
            "trainer": "rank_trainers:sleep",
            "scenario": make_scenario(worldSize=2, datasetSize=4),
            "dataset": {"features": features, "labels": labels},
            "initialParameters": parameters_for("logistic"),
            "timeoutMs": 60000,
        }
        worker.stdin.write(json.dumps(request) + "\n")
        worker.stdin.flush()
        deadline = time.monotonic() + 30
        while len(rank_pids := [row[0] for row in children_of(worker.pid)]) < 2 and time.monotonic() < deadline:
            time.sleep(0.1)
        assert len(rank_pids) == 2
    finally:
        worker.kill()
        worker.wait()
    def alive():  # a zombie (stat Z) is dead, waiting for init to reap it
        return [row for row in ps() if row[0] in rank_pids and not row[2].startswith("Z")]

    deadline = time.monotonic() + 5
    while alive() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert alive() == []
