"""Reading fingerprint entries, ``phi[index]``, with a backward that costs what it touches.

The fingerprint has one entry per sample per epoch, so a dense gradient of it is E x N long while
a micro-batch touches B entries. Plain indexing gives every backward a dense E x N gradient, and
autograd adds it into ``phi.grad`` entry by entry: two passes over E x N per micro-batch, which
makes a check grow as N^2 / B. :func:`gather_fingerprint` gives the same values and the same
``phi.grad`` (dense, the same numbers), but once ``phi.grad`` holds a tensor, its backward hands
autograd a sparse gradient of the B touched entries, which autograd adds into the dense ``.grad``
in place. Only a backward that finds ``.grad`` empty (the first of a window under ``zero_grad()``)
builds the dense gradient that becomes ``.grad``.

The dense path is kept wherever a sparse gradient could be seen by code other than autograd's
accumulation: under ``create_graph`` (the gradient itself is differentiated), while
torch.distributed is initialised (DDP reads gradients as they are produced), and when the
parameter has hooks of its own on the gradient. Under torch.func transforms (vmap, grad), and for
a parameter of fewer than :data:`SPARSE_BACKWARD_FROM` entries, it is plain indexing.
"""

from __future__ import annotations

from typing import Any

import torch


class _GatherFingerprint(torch.autograd.Function):
    """``parameter[index]`` for a flat parameter and a 1-D int64 index."""

    # forward takes ctx (no setup_context): Function.apply then skips an inspect.signature per call.
    @staticmethod
    def forward(ctx: Any, parameter: torch.Tensor, index: torch.Tensor) -> torch.Tensor:
        ctx.parameter = parameter
        ctx.save_for_backward(index)
        return parameter[index]

    @staticmethod
    def backward(ctx: Any, grad_output: torch.Tensor) -> tuple[torch.Tensor | None, None]:
        if not ctx.needs_input_grad[0]:
            return None, None
        (index,) = ctx.saved_tensors
        parameter: torch.Tensor = ctx.parameter
        values = grad_output.to(parameter.dtype)
        if _sparse_allowed(parameter):
            sparse = torch.sparse_coo_tensor(index.unsqueeze(0), values, parameter.shape, check_invariants=False)
            return sparse, None
        dense = torch.zeros(parameter.shape, dtype=parameter.dtype, device=parameter.device)
        return dense.index_put_((index,), values, accumulate=True), None


def _sparse_allowed(parameter: torch.Tensor) -> bool:
    """True when a sparse gradient only meets autograd's in-place addition into a dense ``.grad``."""
    grad = parameter.grad
    if grad is None or grad.layout != torch.strided or grad.shape != parameter.shape:
        return False
    if torch.is_grad_enabled() or parameter.dim() != 1:
        return False
    if getattr(parameter, "_backward_hooks", None) or getattr(parameter, "_post_accumulate_grad_hooks", None):
        return False
    return not (torch.distributed.is_available() and torch.distributed.is_initialized())


#: Parameters with fewer entries are read by plain indexing: below about this size its dense
#: backward costs less than the sparse one's set-up (B = 32, one thread: 145 against 229
#: microseconds per forward and backward at 262,144 entries, 217 against 219 at 524,288).
SPARSE_BACKWARD_FROM = 131072


def gather_fingerprint(parameter: torch.Tensor, index: torch.Tensor) -> torch.Tensor:
    """``parameter[index]`` (a flat parameter, a 1-D integer index), with the gradient described above."""
    if (
        parameter.numel() < SPARSE_BACKWARD_FROM
        or not (torch.is_grad_enabled() and parameter.requires_grad)
        or torch._C._are_functorch_transforms_active()
    ):
        return parameter[index]
    return _GatherFingerprint.apply(parameter, index.long())
