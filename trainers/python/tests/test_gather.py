"""gather_fingerprint leaves ``phi.grad`` as plain indexing would: a property test over seeded random
sequences of micro-batches, clears, penalties, edits of ``.grad`` and optimizer steps, run side by
side on two copies of the same parameter, one read with plain indexing and one with
gather_fingerprint. ``.grad`` must stay a dense tensor with the same values (sums of repeated indices
may round in another order, so a micro-batch with repeats compares within 1e-6)."""

from __future__ import annotations

import random

import pytest
import torch

from accumaudit_probe import gather
from accumaudit_probe.gather import gather_fingerprint

SEEDS = 200


@pytest.fixture(autouse=True)
def sparse_backward_at_every_size(monkeypatch):
    """These tests' parameters are small, and below SPARSE_BACKWARD_FROM entries the read is plain
    indexing: here every size takes the sparse backward where it can."""
    monkeypatch.setattr(gather, "SPARSE_BACKWARD_FROM", 0)


def test_parameters_below_the_threshold_are_read_by_plain_indexing(monkeypatch):
    monkeypatch.setattr(gather, "SPARSE_BACKWARD_FROM", 10)
    small, large = torch.nn.Parameter(torch.zeros(9)), torch.nn.Parameter(torch.zeros(10))
    index = torch.tensor([1, 2])
    assert type(gather_fingerprint(small, index).grad_fn).__name__ == "IndexBackward0"
    assert "GatherFingerprint" in type(gather_fingerprint(large, index).grad_fn).__name__


def plain(parameter: torch.Tensor, index: torch.Tensor) -> torch.Tensor:
    return parameter[index]


def run_random_program(seed: int, read) -> tuple[list[torch.Tensor | None], torch.Tensor, bool]:
    """Runs the seed's program with ``read`` as the fingerprint read; returns ``.grad`` after every
    operation, the parameter at the end, and whether any micro-batch repeated an index."""
    rng = random.Random(seed)
    torch.manual_seed(seed)
    size = rng.choice([1, 2, 7, 64, 1000])
    phi = torch.nn.Parameter(torch.zeros(size))
    with torch.no_grad():
        if rng.random() < 0.5:
            phi.normal_()
    optimizer = torch.optim.SGD(
        [phi], lr=rng.choice([0.1, 0.5]), momentum=rng.choice([0.0, 0.9]), weight_decay=rng.choice([0.0, 0.01])
    )
    grads: list[torch.Tensor | None] = []
    repeated = False
    for _ in range(rng.randint(1, 25)):
        action = rng.random()
        if action < 0.55:  # a micro-batch's backward
            count = rng.randint(0, min(size, 9) + 2)
            ids = [rng.randrange(size) for _ in range(count)]
            repeated |= len(set(ids)) < len(ids)
            index = torch.tensor(ids, dtype=torch.int64)
            loss = (read(phi, index) * torch.randn(count)).sum() * rng.choice([1.0, 0.25, 1e-3])
            if rng.random() < 0.2:  # an L2 penalty over every entry
                loss = loss + 0.01 * (phi**2).sum()
            loss.backward()
        elif action < 0.7:
            optimizer.zero_grad(set_to_none=rng.random() < 0.5)
        elif action < 0.8:
            if phi.grad is not None:
                phi.grad.div_(rng.choice([2.0, 3.0]))
        else:
            optimizer.step()
        grads.append(None if phi.grad is None else phi.grad.detach().clone())
    return grads, phi.detach().clone(), repeated


@pytest.mark.parametrize("seed", range(SEEDS))
def test_grad_equals_plain_indexing(seed):
    expected, expected_phi, repeated = run_random_program(seed, plain)
    seen, seen_phi, _ = run_random_program(seed, gather_fingerprint)
    assert len(seen) == len(expected)
    for step, (a, b) in enumerate(zip(seen, expected, strict=True)):
        assert (a is None) == (b is None), f"step {step}"
        if a is None:
            continue
        assert a.layout == torch.strided and not a.is_sparse, f"step {step}: .grad became {a.layout}"
        if repeated:
            torch.testing.assert_close(a, b, rtol=1e-6, atol=1e-6)
        else:
            assert torch.equal(a, b), f"step {step}"
    if repeated:
        torch.testing.assert_close(seen_phi, expected_phi, rtol=1e-6, atol=1e-6)
    else:
        assert torch.equal(seen_phi, expected_phi)


def test_a_later_micro_batch_hands_autograd_a_sparse_gradient():
    """The point of it: once ``.grad`` exists, a backward builds no dense gradient of the parameter."""
    phi = torch.nn.Parameter(torch.zeros(10))
    gather_fingerprint(phi, torch.tensor([1, 2])).sum().backward()
    original = torch.sparse_coo_tensor
    calls = []

    def spy(*args, **kwargs):
        calls.append(args)
        return original(*args, **kwargs)

    torch.sparse_coo_tensor = spy
    try:
        gather_fingerprint(phi, torch.tensor([3])).sum().backward()
    finally:
        torch.sparse_coo_tensor = original
    assert len(calls) == 1
    assert phi.grad.tolist() == [0, 1, 1, 1, 0, 0, 0, 0, 0, 0]


def test_dense_where_the_gradient_is_seen_by_hooks_or_differentiated():
    phi = torch.nn.Parameter(torch.zeros(5))
    gather_fingerprint(phi, torch.tensor([0])).sum().backward()
    seen = []
    handle = phi.register_hook(lambda g: seen.append(g.layout) or g)
    gather_fingerprint(phi, torch.tensor([1])).sum().backward()
    handle.remove()
    assert seen == [torch.strided]
    assert phi.grad.tolist() == [1, 1, 0, 0, 0]
    # create_graph: the gradient is itself differentiable, as plain indexing's is
    (grad,) = torch.autograd.grad((gather_fingerprint(phi, torch.tensor([2, 2])) ** 2).sum(), phi, create_graph=True)
    assert grad.layout == torch.strided and grad.requires_grad
    assert grad.tolist() == [0, 0, 0, 0, 0]  # phi is 0, so d/dphi phi^2 is 0 at every entry


def test_no_graph_reads_plainly():
    phi = torch.nn.Parameter(torch.arange(4.0))
    with torch.no_grad():
        values = gather_fingerprint(phi, torch.tensor([3, 1]))
    assert values.tolist() == [3.0, 1.0] and values.grad_fn is None
