"""What a trainer can do to the worker's standard descriptors, and how the worker ends with its
harness: a trainer gets an empty stdin and a stdout that is stderr, so it can neither block on nor
write into the protocol; a worker whose parent dies takes its ranks with it; the trainer's
children that left its process group are named."""

import json
import os
import select
import signal
import subprocess
import sys
import threading
import time

import pytest

from accumaudit_probe import distributed
from accumaudit_probe.lifeline import RequestLines, escape_warning, escaped_children
from accumaudit_probe.loops.reference import train as reference_train
from accumaudit_probe.rank_process import import_before_fork
from accumaudit_probe.run import run_scenario
from conftest import parameters_for

TESTS = os.path.dirname(os.path.abspath(__file__))
PACKAGE_ROOT = os.path.dirname(TESTS)
LINUX = sys.platform.startswith("linux")


# -- trainers, imported by the worker as test_worker_lifetime:NAME ---------------------------------


def reads_input(ctx):
    input()


def reads_stdin_then_trains(ctx):
    assert sys.stdin.read() == ""
    assert os.read(0, 1) == b""
    reference_train(ctx)


def writes_to_stdout_then_trains(ctx):
    os.write(1, b"raw bytes on file descriptor 1\n")
    print("a print to the original stdout", file=sys.__stdout__, flush=True)
    if LINUX:
        import ctypes

        libc = ctypes.CDLL(None)
        libc.printf(b"printf from C\n")
        libc.fflush(None)
    reference_train(ctx)


def starts_an_escaping_child(ctx):
    """Starts a child in a session of its own (out of the process group) and one that stays in it
    (neither holds the worker's stderr, which the test reads to its end)."""
    quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL}
    outside = subprocess.Popen(["sleep", "30"], start_new_session=True, **quiet)
    inside = subprocess.Popen(["sleep", "31"], **quiet)
    with open(os.environ["ACCUMAUDIT_TEST_PIDS"], "a") as pids:
        pids.write(f"{outside.pid} {inside.pid}\n")
    reference_train(ctx)


@distributed
def escapes_on_rank_1(ctx):
    ctx.init_process_group()
    if ctx.rank == 1:
        child = subprocess.Popen(["sleep", "30"], start_new_session=True)
        with open(os.environ["ACCUMAUDIT_TEST_PIDS"], "a") as pids:
            pids.write(f"{child.pid}\n")
    import torch.distributed as dist

    dist.barrier()


@distributed
def starts_a_child_and_sleeps(ctx):
    """Every rank starts a child in its own process group, notes the child's pid, then hangs."""
    child = subprocess.Popen(["sleep", "30"])
    with open(os.environ["ACCUMAUDIT_TEST_PIDS"], "a") as pids:
        pids.write(f"{child.pid}\n")
    time.sleep(600)


# -- a worker started as the harness starts it -----------------------------------------------------


def worker_env(**extra):
    path = os.pathsep.join([TESTS, PACKAGE_ROOT, os.environ.get("PYTHONPATH", "")])
    return {**os.environ, "PYTHONPATH": path, "PYTHONUNBUFFERED": "1", **extra}


class Lines:
    """Lines of a pipe read with a deadline (a blocked read would hang the test, not fail it)."""

    def __init__(self, fd):
        self.fd = fd
        self.pending = b""

    def next(self, timeout_s):
        deadline = time.monotonic() + timeout_s
        while b"\n" not in self.pending:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([self.fd], [], [], left)[0]:
                raise AssertionError(f"no line within {timeout_s} s")
            chunk = os.read(self.fd, 1 << 20)
            if not chunk:
                raise AssertionError("the pipe ended")
            self.pending += chunk
        line, self.pending = self.pending.split(b"\n", 1)
        return line.decode()


def run_request(request_id, trainer, scenario, data):
    features, labels = data(scenario["datasetSize"])
    return {
        "type": "run",
        "id": request_id,
        "trainer": trainer,
        "scenario": scenario,
        "dataset": {"features": features, "labels": labels},
        "initialParameters": parameters_for(scenario["model"]),
        "timeoutMs": 60000,
    }


@pytest.fixture(scope="module")
def worker(tmp_path_factory):
    pids = tmp_path_factory.mktemp("pids") / "pids"
    pids.write_text("")
    process = subprocess.Popen(
        [sys.executable, "-m", "accumaudit_probe.worker"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        env=worker_env(ACCUMAUDIT_TEST_PIDS=str(pids)), start_new_session=True,
    )
    lines = Lines(process.stdout.fileno())
    assert json.loads(lines.next(120))["type"] == "hello"

    def ask(message):
        process.stdin.write((json.dumps(message) + "\n").encode())
        process.stdin.flush()
        return json.loads(lines.next(60))

    yield ask, process, pids
    process.kill()
    process.wait()


def test_a_trainer_that_reads_stdin_meets_end_of_file_at_once(worker, make_scenario, data):
    ask, _, _ = worker
    scenario = make_scenario(datasetSize=8, batchSize=2, accumulation=2, epochs=1)
    started = time.monotonic()
    answer = ask(run_request(1, "test_worker_lifetime:reads_input", scenario, data))
    assert answer["type"] == "error" and answer["id"] == 1
    assert answer["message"].startswith("EOFError: EOF when reading a line (test_worker_lifetime.py:")
    assert time.monotonic() - started < 30
    answer = ask(run_request(2, "test_worker_lifetime:reads_stdin_then_trains", scenario, data))
    assert answer["type"] == "trace" and answer["id"] == 2, answer


def test_a_trainer_that_writes_to_file_descriptor_1_does_not_reach_the_protocol(worker, make_scenario, data):
    ask, _, _ = worker
    scenario = make_scenario(datasetSize=8, batchSize=2, accumulation=2, epochs=1)
    answer = ask(run_request(3, "test_worker_lifetime:writes_to_stdout_then_trains", scenario, data))
    assert answer["type"] == "trace" and answer["id"] == 3, answer
    assert ask({"type": "describe", "id": 4, "trainer": "reference"})["type"] == "description"


@pytest.mark.skipif(not LINUX, reason="children are listed from /proc")
def test_a_child_that_left_the_process_group_is_named_and_the_rest_end_with_the_worker(worker, make_scenario, data):
    ask, process, pids = worker
    scenario = make_scenario(datasetSize=8, batchSize=2, accumulation=2, epochs=1)
    answer = ask(run_request(5, "test_worker_lifetime:starts_an_escaping_child", scenario, data))
    outside, inside = (int(pid) for pid in pids.read_text().split())
    try:
        assert answer["type"] == "trace", answer
        process.stdin.close()  # a harness that closes the pipe, then the worker exits
        assert process.wait(30) == 0
        stderr = process.stderr.read().decode()
        assert (
            "accumaudit: trainer test_worker_lifetime:starts_an_escaping_child left 1 process running outside"
            f" its process group, which accumaudit does not end: {outside} (sleep 30)"
        ) in stderr
        assert f"{inside} (sleep 31)" not in stderr
    finally:
        for pid in (outside, inside):
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass


@pytest.mark.skipif(not LINUX, reason="children are listed from /proc")
def test_a_rank_names_the_child_that_left_its_process_group(make_scenario, data, tmp_path, monkeypatch, capfd):
    import_before_fork()
    pids = tmp_path / "pids"
    pids.write_text("")
    monkeypatch.setenv("ACCUMAUDIT_TEST_PIDS", str(pids))
    features, labels = data(4)
    scenario = make_scenario(worldSize=2, datasetSize=4, batchSize=2, accumulation=1)
    try:
        run_scenario("test_worker_lifetime:escapes_on_rank_1", scenario, features, labels,
                     parameters_for("logistic"), timeout_s=60)
    finally:
        (child,) = (int(pid) for pid in pids.read_text().split())
        os.kill(child, signal.SIGKILL)
    assert (
        "accumaudit: the trainer on rank 1 of 2 left 1 process running outside its process group, which"
        f" accumaudit does not end: {child} (sleep 30)"
    ) in capfd.readouterr().err


# -- the harness gone ------------------------------------------------------------------------------


def alive(pid):
    """Whether the process exists and is no zombie."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def wait_until_gone(pids, timeout_s):
    deadline = time.monotonic() + timeout_s
    while any(alive(pid) for pid in pids) and time.monotonic() < deadline:
        time.sleep(0.05)
    return [pid for pid in pids if alive(pid)]


def children_of(pid):
    from accumaudit_probe.lifeline import children

    return children(pid)


# The harness stand-in: starts the worker on the descriptors it is given, says its pid, sleeps.
HARNESS = (
    "import os, subprocess, sys, time;"
    " worker = subprocess.Popen([sys.executable, '-m', 'accumaudit_probe.worker'],"
    " stdin=int(sys.argv[1]), stdout=int(sys.argv[2]), pass_fds=(int(sys.argv[1]), int(sys.argv[2])),"
    " start_new_session=True);"
    " print(worker.pid, flush=True); time.sleep(600)"
)


@pytest.mark.skipif(not LINUX, reason="the parent-death signal is Linux's")
@pytest.mark.parametrize("world_size", [1, 2])
def test_a_worker_whose_harness_is_killed_ends_with_its_ranks(world_size, make_scenario, data):
    """The harness is SIGKILLed while the trainer sleeps; the test keeps the request pipe open, so
    only the parent-death signal can tell the worker."""
    requests_read, requests_write = os.pipe()
    messages_read, messages_write = os.pipe()
    harness = subprocess.Popen(
        [sys.executable, "-c", HARNESS, str(requests_read), str(messages_write)],
        stdout=subprocess.PIPE, env=worker_env(), pass_fds=(requests_read, messages_write),
    )
    os.close(requests_read)
    os.close(messages_write)
    worker_pid = int(harness.stdout.readline())
    started = [worker_pid]
    try:
        lines = Lines(messages_read)
        assert json.loads(lines.next(120))["type"] == "hello"
        trainer = "rank_trainers:sleep" if world_size == 2 else "test_worker_lifetime:sleeps"
        scenario = make_scenario(worldSize=world_size, datasetSize=4, batchSize=2, accumulation=1)
        os.write(requests_write, (json.dumps(run_request(1, trainer, scenario, data)) + "\n").encode())
        if world_size == 2:
            deadline = time.monotonic() + 60
            while len(children_of(worker_pid)) < 2 and time.monotonic() < deadline:
                time.sleep(0.1)
            started += children_of(worker_pid)
            assert len(started) == 3
        else:
            time.sleep(1)
        harness.kill()
        harness.wait()
        assert wait_until_gone(started, 5) == []
    finally:
        for pid in started:
            if alive(pid):
                os.kill(pid, signal.SIGKILL)
        os.close(requests_write)
        os.close(messages_read)
        harness.kill()
        harness.wait()


def sleeps(ctx):
    time.sleep(600)


@pytest.mark.skipif(not LINUX, reason="the parent-death signal is Linux's")
def test_a_killed_worker_takes_the_process_groups_of_its_ranks_with_it(make_scenario, data, tmp_path):
    """The harness kills the worker's process group (a timeout, Ctrl-C): the ranks, in groups of
    their own, end theirs, and with it what their trainer started."""
    pids = tmp_path / "pids"
    pids.write_text("")
    worker = subprocess.Popen(
        [sys.executable, "-m", "accumaudit_probe.worker"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=worker_env(ACCUMAUDIT_TEST_PIDS=str(pids)),
        start_new_session=True,
    )
    started = []
    try:
        lines = Lines(worker.stdout.fileno())
        assert json.loads(lines.next(120))["type"] == "hello"
        scenario = make_scenario(worldSize=2, datasetSize=4, batchSize=2, accumulation=1)
        request = run_request(1, "test_worker_lifetime:starts_a_child_and_sleeps", scenario, data)
        worker.stdin.write((json.dumps(request) + "\n").encode())
        worker.stdin.flush()
        deadline = time.monotonic() + 60
        while len(pids.read_text().split()) < 2 and time.monotonic() < deadline:
            time.sleep(0.1)
        started = children_of(worker.pid) + [int(pid) for pid in pids.read_text().split()]
        assert len(started) == 4
        os.killpg(worker.pid, signal.SIGKILL)
        worker.wait()
        assert wait_until_gone(started, 5) == []
    finally:
        for pid in started:
            if alive(pid):
                os.kill(pid, signal.SIGKILL)
        worker.kill()
        worker.wait()


def test_request_lines_end_with_the_pipe_and_then_watch_the_parent():
    """After the pipe ends the reader calls on_gone only once the parent it was given is not the
    parent any more (a harness that closed the pipe and lives on is answered)."""
    for parent, expect_gone in ((os.getppid(), False), (-1, True)):
        read, write = os.pipe()
        gone = threading.Event()
        lines = RequestLines(read, parent, gone.set)
        os.write(write, b'{"type": "run"}\n{"type"')
        os.write(write, b': "shutdown"}')
        os.close(write)
        assert list(lines) == ['{"type": "run"}', '{"type": "shutdown"}']
        assert list(lines) == []
        assert gone.wait(2) is expect_gone
        os.close(read)


def test_escape_warning_names_every_process():
    assert escape_warning("the trainer", []) is None
    assert escape_warning("the trainer", [(12, "sleep 60"), (13, "python x.py")]) == (
        "accumaudit: the trainer left 2 processes running outside its process group, which accumaudit"
        " does not end: 12 (sleep 60), 13 (python x.py)"
    )


@pytest.mark.skipif(not LINUX, reason="children are listed from /proc")
def test_escaped_children_leaves_out_the_group_and_the_listed():
    inside = subprocess.Popen(["sleep", "30"])
    outside = subprocess.Popen(["sleep", "31"], start_new_session=True)
    try:
        found = escaped_children(os.getpid(), os.getpgrp())
        assert (outside.pid, "sleep 31") in found and all(pid != inside.pid for pid, _ in found)
        assert all(pid != outside.pid for pid, _ in escaped_children(os.getpid(), os.getpgrp(), frozenset({outside.pid})))
    finally:
        for child in (inside, outside):
            child.kill()
            child.wait()



def test_a_rank_ends_the_children_its_trainer_left_in_its_group():
    """rank_process._end_others_in_group, run as a rank ends: a child the trainer started and left
    running dies with the rank, whether or not the worker is still there to end the group."""
    import subprocess
    import time

    from accumaudit_probe.rank_process import _end_others_in_group

    read, write = os.pipe()
    leader = os.fork()
    if leader == 0:
        os.setpgid(0, 0)
        child = subprocess.Popen(["sleep", "600"])
        os.write(write, str(child.pid).encode())
        _end_others_in_group()
        os._exit(0)
    os.close(write)
    child_pid = int(os.read(read, 64))
    os.waitpid(leader, 0)
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        try:
            os.kill(child_pid, 0)
        except ProcessLookupError:
            break
        with open(f"/proc/{child_pid}/stat", "rb") as stat:
            if stat.read().rsplit(b")", 1)[1].split()[0] == b"Z":
                break  # killed; a zombie until its new parent reaps it
        time.sleep(0.05)
    else:
        raise AssertionError("the trainer's child outlived its rank")
