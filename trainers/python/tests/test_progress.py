"""Where a run in flight stands reaches the harness: progress messages while it trains (at the first
micro-batch, then at most every half second) with its epoch, micro-batch and steps; none unless the
request asks for them (docs/protocol.md, progress)."""

import json
import math
import subprocess
import sys
import time

import pytest

from accumaudit_probe import progress
from accumaudit_probe.run import run_scenario
from conftest import parameters_for
from test_worker_lifetime import Lines, run_request, worker_env


def reported_run(trainer, scenario, data):
    """Runs the scenario in this process and returns its progress messages, each with when it came."""
    messages = []
    features, labels = data(scenario["datasetSize"])
    run_scenario(
        trainer, scenario, features, labels, parameters_for(scenario["model"]), timeout_s=120,
        report=lambda fields: messages.append({**fields, "at": time.monotonic()}),
    )
    return messages


def assert_spaced(messages):
    gaps = [b["at"] - a["at"] for a, b in zip(messages, messages[1:])]
    assert all(gap >= progress.INTERVAL_S * 0.99 for gap in gaps), gaps


def test_a_slow_run_reports_its_epoch_and_micro_batch_every_half_second(make_scenario, data):
    scenario = make_scenario(datasetSize=1000, batchSize=1, accumulation=4, epochs=2, model="fingerprint")
    messages = reported_run("slow_trainers:sleepy_reference", scenario, data)
    assert len(messages) >= 3, messages
    assert messages[0] == {**messages[0], "sampling": "epochs", "epoch": 0, "microBatch": 1, "steps": 0}
    assert_spaced(messages)
    for message in messages:
        assert set(message) == {"sampling", "epoch", "epochs", "microBatch", "microBatches", "steps", "at"}
        assert message["epochs"] == 2 and message["microBatches"] == 1000
        assert 0 <= message["epoch"] < 2 and 1 <= message["microBatch"] <= 1000
        # steps so far: every full window of the epochs before, and of this epoch's micro-batches before this one
        assert message["steps"] == message["epoch"] * 250 + (message["microBatch"] - 1) // 4
    done = [m["epoch"] * 1000 + m["microBatch"] for m in messages]
    assert done == sorted(done) and done[-1] > 1000  # it got into the second epoch


def test_a_run_that_draws_with_replacement_reports_draws_and_steps(make_scenario, data):
    scenario = make_scenario(
        datasetSize=50, batchSize=1, accumulation=4, epochs=1, sampling="replacement", steps=600, model="fingerprint"
    )
    messages = reported_run("slow_trainers:sleepy_reference", scenario, data)
    assert len(messages) >= 3, messages
    assert_spaced(messages)
    for message in messages:
        assert set(message) == {"sampling", "microBatch", "microBatches", "steps", "totalSteps", "at"}
        assert message["sampling"] == "replacement"
        assert message["microBatches"] == 2400 and message["totalSteps"] == 600
        assert message["steps"] == (message["microBatch"] - 1) // 4


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="forked ranks")
def test_data_parallel_ranks_report_rank_0s_share(make_scenario, data):
    scenario = make_scenario(worldSize=2, datasetSize=4001, batchSize=2, accumulation=1, epochs=1, model="fingerprint")
    messages = reported_run("slow_trainers:sleepy_shards", scenario, data)
    assert len(messages) >= 2, messages
    assert_spaced(messages)
    per_rank = math.ceil(math.ceil(4001 / 2) / 2)
    for message in messages:
        assert message["microBatches"] == per_rank and message["epochs"] == 1 and message["epoch"] == 0
        assert 1 <= message["microBatch"] <= per_rank
        assert message["steps"] == message["microBatch"] - 1


def test_no_report_no_message_and_a_quick_run_sends_one(make_scenario, data):
    scenario = make_scenario(datasetSize=8, batchSize=2, accumulation=2, epochs=1)
    messages = reported_run("reference", scenario, data)
    assert [(m["epoch"], m["microBatch"]) for m in messages] == [(0, 1)]


def test_totals_follow_the_scenario(make_scenario):
    def totals(**overrides):
        return progress.Reporter(lambda _: None, make_scenario(**overrides)).message(0, 1, 0)["microBatches"]

    assert totals(datasetSize=110, batchSize=8) == 14
    assert totals(datasetSize=110, batchSize=8, dropLast=True) == 13
    assert totals(datasetSize=110, batchSize=8, worldSize=3) == 5  # 37 samples on rank 0
    assert totals(sampling="replacement", steps=7, accumulation=3) == 21


def test_a_send_that_fails_ends_the_reporting_not_the_run(make_scenario):
    calls = []

    def broken(fields):
        calls.append(fields)
        raise BrokenPipeError("the harness is gone")

    reporter = progress.Reporter(broken, make_scenario())
    reporter.offer(0, 1, 0)
    reporter._last = -math.inf  # as if half a second had passed
    reporter.offer(0, 2, 0)
    assert len(calls) == 1


def test_the_worker_sends_progress_only_when_the_request_asks(make_scenario, data):
    process = subprocess.Popen(
        [sys.executable, "-m", "accumaudit_probe.worker"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
        env=worker_env(), start_new_session=True,
    )
    try:
        lines = Lines(process.stdout.fileno())
        assert json.loads(lines.next(120))["type"] == "hello"
        scenario = make_scenario(datasetSize=1000, batchSize=1, accumulation=4, epochs=1, model="fingerprint")

        def run(request_id, **extra):
            request = {**run_request(request_id, "slow_trainers:sleepy_reference", scenario, data), **extra}
            process.stdin.write((json.dumps(request) + "\n").encode())
            process.stdin.flush()
            messages = [json.loads(lines.next(60))]
            while messages[-1]["type"] == "progress":
                messages.append(json.loads(lines.next(60)))
            return messages

        asked = run(1, progress=True)
        assert [m["type"] for m in asked][-1] == "trace" and len(asked) >= 3, [m["type"] for m in asked]
        assert {m["id"] for m in asked} == {1}
        assert asked[0] == {
            "type": "progress", "id": 1, "sampling": "epochs", "epoch": 0, "epochs": 1,
            "microBatch": 1, "microBatches": 1000, "steps": 0,
        }
        assert [m["type"] for m in run(2)] == ["trace"]
    finally:
        process.kill()
        process.wait()
