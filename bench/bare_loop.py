"""The bench's bare PyTorch loop: a plain, correct accumulation loop with no accumaudit probe,
recorder or trace, timed inside Python (bench/bare-loop.ts compares a full check against it).

Run as ``python bench/bare_loop.py``; it imports torch, writes ``{"ready": ...}`` on one line, then
reads one JSON request per line and answers each with one JSON line, until a ``{"type":
"shutdown"}`` line or the end of its input. A request::

    {"type": "run", "datasetSize": N, "batchSize": B, "accumulation": K, "epochs": E,
     "model": "fingerprint" | "logistic", "learningRate": lr,
     "features": [[x0, x1, x2], ...], "labels": [y, ...], "body": [w0, w1, w2, b]}

The answer: ``{"seconds": s, "fingerprintSum": sum of phi after training}``; ``seconds`` covers
building the data tensors, the model, the optimizer and the DataLoader, then training (not
reading the request). The model is the probe's size and reads phi as the probe does: phi, one
parameter per sample per epoch (sample i's loss in epoch e holds c * phi[e * N + i], read with the
probe's ``gather_fingerprint``, whose backward touches only a micro-batch's entries once ``phi.grad``
exists), plus the logistic body w, b when asked. No other part of accumaudit_probe is used.
Windows are K consecutive micro-batches, the epoch's last one holding what is left; each
micro-batch's loss is its summed per-sample loss over the window's sample count, so every step
applies the mean per-sample gradient of its window (and sum(phi) ends at -lr x windows x epochs).
"""

from __future__ import annotations

import json
import sys
import time
from itertools import islice

import torch
from torch import nn
from torch.nn import functional as F
from torch.utils.data import DataLoader, TensorDataset

from accumaudit_probe.gather import gather_fingerprint

FINGERPRINT_COEFFICIENT = 1.0


class BareModel(nn.Module):
    """phi (epochs x N, zeros) and, for the logistic body, w [3] and b [1]."""

    def __init__(self, size: int, epochs: int, body: list[float] | None):
        super().__init__()
        self.size = size
        self.phi = nn.Parameter(torch.zeros(epochs * size))
        self.body = body is not None
        if body is not None:
            self.w = nn.Parameter(torch.tensor(body[:3], dtype=torch.float32))
            self.b = nn.Parameter(torch.tensor(body[3:4], dtype=torch.float32))

    def forward(self, x: torch.Tensor, y: torch.Tensor, ids: torch.Tensor, epoch: int) -> torch.Tensor:
        """Per-sample losses of a micro-batch: c * phi[epoch * N + id], plus BCE with logits."""
        loss = FINGERPRINT_COEFFICIENT * gather_fingerprint(self.phi, epoch * self.size + ids)
        if self.body:
            z = x @ self.w + self.b
            loss = loss + F.softplus(z) - y * z
        return loss


def train(request: dict) -> float:
    """Trains one scenario; returns sum(phi) afterwards."""
    size, epochs, k = int(request["datasetSize"]), int(request["epochs"]), int(request["accumulation"])
    x = torch.tensor(request["features"], dtype=torch.float32).reshape(size, 3)
    y = torch.tensor(request["labels"], dtype=torch.float32)
    data = TensorDataset(x, y, torch.arange(size))
    model = BareModel(size, epochs, request["body"] if request["model"] == "logistic" else None)
    optimizer = torch.optim.SGD(model.parameters(), lr=float(request["learningRate"]))
    loader = DataLoader(data, batch_size=int(request["batchSize"]), shuffle=False)
    model.train()
    for epoch in range(epochs):
        optimizer.zero_grad()
        batches = iter(loader)
        while window := list(islice(batches, k)):
            count = sum(len(ids) for _, _, ids in window)
            for xb, yb, ids in window:
                (model(xb, yb, ids, epoch).sum() / count).backward()
            optimizer.step()
            optimizer.zero_grad()
    return float(model.phi.detach().sum())


def main() -> None:
    print(json.dumps({"ready": True, "torch": torch.__version__, "threads": torch.get_num_threads()}), flush=True)
    for line in sys.stdin:
        request = json.loads(line)
        if request.get("type") == "shutdown":
            break
        started = time.perf_counter()
        total = train(request)
        seconds = time.perf_counter() - started
        print(json.dumps({"seconds": seconds, "fingerprintSum": total}), flush=True)


if __name__ == "__main__":
    main()
