"""The probe model and its dataset, as trainers/contract/probe.ts specifies them.

The harness sends the dataset and the body's initial parameters; nothing is regenerated here.

Two weightings (``scenario["weighting"]``). Under ``"samples"`` a sample is a feature vector and a
binary label, and its loss is one number. Under ``"tokens"`` a sample is a token sequence (causal-LM
style: the logits at position t - 1 predict the label at t; a label of :data:`IGNORE_INDEX` is no
loss token), a micro-batch is padded to its longest sequence, and a sample's loss is the mean over
its loss tokens. :meth:`ProbeModel.loss_terms` and :meth:`ProbeModel.loss_units` give the units a
full-batch mean weights equally: samples, or loss tokens.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from itertools import chain
from typing import Any

import torch
from torch import nn
from torch.nn import functional as F
from torch.nn.utils.rnn import pad_sequence
from torch.utils.data import default_collate

from .gather import gather_fingerprint
from .precision import computed_precision

FEATURES = 3
HIDDEN = 4
FINGERPRINT_COEFFICIENT = 1.0
#: Token ids of the causal-lm body run from 0 to VOCABULARY - 1.
VOCABULARY = 6
#: Width of the causal-lm body's token embedding.
EMBEDDING = 3
#: The label of a position that is no loss token (cross-entropy's ``ignore_index``); also the label padding.
IGNORE_INDEX = -100
#: The input id that pads a token micro-batch (its label there is IGNORE_INDEX, so it is no loss token).
PAD_TOKEN = 0

#: Body parameter names per model, in the flattening order of probe.ts.
BODY_PARAMETERS: dict[str, list[tuple[str, tuple[int, ...]]]] = {
    "fingerprint": [],
    "logistic": [("w", (FEATURES,)), ("b", (1,))],
    "mlp": [("w1", (HIDDEN, FEATURES)), ("b1", (HIDDEN,)), ("w2", (HIDDEN,)), ("b2", (1,))],
    "causal-lm": [("embedding", (VOCABULARY, EMBEDDING)), ("head", (EMBEDDING, VOCABULARY)), ("bias", (VOCABULARY,))],
}

#: The models each weighting allows (scenario.ts MODELS_BY_WEIGHTING).
MODELS_BY_WEIGHTING: dict[str, tuple[str, ...]] = {
    "samples": ("fingerprint", "logistic", "mlp"),
    "tokens": ("fingerprint", "causal-lm"),
}


def check_model_weighting(scenario: Mapping[str, Any]) -> None:
    """Raises ValueError (one line) when the scenario's model does not read its weighting's samples."""
    weighting = scenario.get("weighting", "samples")
    models = MODELS_BY_WEIGHTING.get(weighting)
    if models is None:
        raise ValueError(f"scenario.weighting: expected one of {', '.join(MODELS_BY_WEIGHTING)}, saw {weighting!r}")
    if scenario["model"] not in models:
        raise ValueError(
            f"scenario.model: expected one of {', '.join(models)} under {weighting} weighting, saw {scenario['model']}"
        )


def body_parameter_count(model: str) -> int:
    """Number of body parameters of a probe model kind (probe.ts bodyParameterCount)."""
    shapes = BODY_PARAMETERS.get(model)
    if shapes is None:
        raise ValueError(f"scenario.model: expected one of {', '.join(BODY_PARAMETERS)}, saw {model!r}")
    return sum(int(torch.Size(shape).numel()) for _, shape in shapes)


class ProbeOutput(dict):
    """What :meth:`ProbeModel.forward` returns: a dict with ``"loss"``, also readable as ``.loss``.

    HF Trainer reads ``outputs["loss"]``; Lightning and plain loops read ``.loss`` or ``["loss"]``.
    """

    @property
    def loss(self) -> torch.Tensor:
        return self["loss"]


#: Token sequences as the run request carries them: ``{"inputIds": [[id, ...], ...], "labels": [[label, ...], ...]}``.
TokenSequences = Mapping[str, Sequence[Sequence[int]]]


class ProbeDataset(torch.utils.data.Dataset):
    """The scenario's samples (``features``: N rows of 3 numbers, as lists or an [N, 3] tensor).

    Sample weighting: item i is ``{"x": float32[3], "y": float32, "ids": int64}``. Token weighting
    (``tokens`` given): item i is ``{"x": int64[T_i], "y": int64[T_i], "ids": int64}``, the sample's
    input ids and labels (:data:`IGNORE_INDEX` where a position is no loss token); :func:`collate`
    pads a micro-batch of them to its longest sequence.
    """

    def __init__(
        self,
        features: Sequence[Sequence[float]] | torch.Tensor,
        labels: Sequence[float],
        tokens: TokenSequences | None = None,
    ):
        if len(features) != len(labels):
            raise ValueError(
                f"dataset: expected as many labels as feature rows, saw {len(labels)} labels and {len(features)} rows"
            )
        self.x = torch.as_tensor(features, dtype=torch.float32).reshape(len(features), FEATURES)
        self.y = torch.tensor(labels, dtype=torch.float32)
        self.ids = torch.arange(len(labels), dtype=torch.int64)
        #: True when the samples are token sequences (token weighting).
        self.tokens = tokens is not None
        if tokens is not None:
            # Every sequence, one after the other: sample i's tokens are at starts[i] : starts[i] + lengths[i].
            self.lengths, self.token_x, self.token_y = _flat_sequences(tokens, len(labels))
            self.starts = torch.cumsum(self.lengths, 0) - self.lengths

    def __len__(self) -> int:
        return int(self.y.shape[0])

    def __getitem__(self, index: int) -> dict[str, torch.Tensor]:
        if self.tokens:
            start, length = int(self.starts[index]), int(self.lengths[index])
            tokens = slice(start, start + length)
            return {"x": self.token_x[tokens], "y": self.token_y[tokens], "ids": self.ids[index]}
        return {"x": self.x[index], "y": self.y[index], "ids": self.ids[index]}

    def __getitems__(self, indices: Sequence[int]) -> list[dict[str, torch.Tensor]]:
        """``[self[i] for i in indices]``, read with one gather per field (torch's DataLoader calls
        this for a micro-batch, then its ``collate_fn``).

        The result is a list of items equal to ``self[i]``'s (a :class:`ProbeItems`, made when first
        looked at), so any ``collate_fn`` works on it unchanged; it also carries the gathered
        micro-batch, which :func:`collate` (the loaders of ``RunContext.make_loader``) returns without
        making the items at all. Token sequences are gathered padded to the micro-batch's longest, as
        :func:`collate` pads them.
        """
        batch = None
        index = _integer_index(indices)
        if index is not None:
            try:
                batch = self._gather(index)
            except (IndexError, RuntimeError):
                pass
        if batch is None:  # not a list of valid integers: item by item, whatever that makes of it
            return [self[i] for i in indices]
        return ProbeItems(batch, self.lengths[index].tolist() if self.tokens else None)

    def _gather(self, index: torch.Tensor) -> dict[str, torch.Tensor]:
        """The samples at ``index`` as one micro-batch (token sequences padded to the longest of them)."""
        if not self.tokens:
            return {"x": self.x[index], "y": self.y[index], "ids": self.ids[index]}
        lengths, starts, ids = self.lengths[index], self.starts[index], self.ids[index]
        width = int(lengths.max()) if index.numel() else 0
        columns = torch.arange(width)
        filled = columns < lengths.unsqueeze(1)
        positions = torch.where(filled, starts.unsqueeze(1) + columns, 0)
        return {
            "x": torch.where(filled, self.token_x[positions], PAD_TOKEN),
            "y": torch.where(filled, self.token_y[positions], IGNORE_INDEX),
            "ids": ids,
        }


def _flat_sequences(tokens: TokenSequences, size: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """The token sequences as (lengths [N], input ids, labels), each field's sequences concatenated into one tensor."""
    input_ids, labels = tokens["inputIds"], tokens["labels"]
    if len(input_ids) != size or len(labels) != size:
        raise ValueError(
            f"dataset.tokens: expected {size} input-id and label sequences, saw {len(input_ids)} and {len(labels)}"
        )
    lengths = torch.tensor([len(sequence) for sequence in input_ids], dtype=torch.int64)
    if lengths.tolist() != [len(sequence) for sequence in labels]:
        raise ValueError("dataset.tokens: expected every sample's labels as long as its input ids")
    x = torch.tensor(list(chain.from_iterable(input_ids)), dtype=torch.int64)
    y = torch.tensor(list(chain.from_iterable(labels)), dtype=torch.int64)
    return lengths, x, y


_INDEX_DTYPES = (torch.int64, torch.int32, torch.int16, torch.int8)


def _integer_index(indices: Sequence[int]) -> torch.Tensor | None:
    """``indices`` as a 1-D integer tensor, or None when they are not a sequence of integers."""
    try:
        index = torch.as_tensor(indices)
    except (TypeError, ValueError, RuntimeError):
        return None
    return index if index.dim() == 1 and index.dtype in _INDEX_DTYPES else None


class ProbeItems(list):
    """The items of one micro-batch gathered by :meth:`ProbeDataset.__getitems__`: a list equal to
    ``[dataset[i] for i in indices]`` that also holds them gathered as one micro-batch (:attr:`batch`).

    The items are made the first time the list is used as a list: every method of ``list`` (length,
    iteration, indexing, comparison, mutation, copying, pickling) fills it first. :func:`collate`
    reads :attr:`batch` of a list nobody has used, so the loaders of ``RunContext.make_loader`` never
    make the B items; any other ``collate_fn`` gets them. (Code that reads a list's storage without
    calling any of its methods, as C encoders such as ``json``'s do, sees it empty until then.)
    """

    def __init__(self, batch: dict[str, torch.Tensor], lengths: list[int] | None = None):
        super().__init__()
        #: The micro-batch as :func:`collate` returns it (token sequences padded to the longest).
        self.batch: dict[str, torch.Tensor] = batch
        self._lengths = lengths
        self._unused = True

    @property
    def unused(self) -> bool:
        """True while no list method has run, so the list still equals :attr:`batch` item by item."""
        return self._unused

    def _fill(self) -> None:
        if not self._unused:
            return
        self._unused = False
        batch = self.batch
        rows = zip(batch["x"].unbind(0), batch["y"].unbind(0), batch["ids"].unbind(0), strict=True)
        if self._lengths is None:
            list.extend(self, ({"x": x, "y": y, "ids": ids} for x, y, ids in rows))
        else:
            list.extend(
                self, ({"x": x[:n], "y": y[:n], "ids": ids} for (x, y, ids), n in zip(rows, self._lengths, strict=True))
            )


def _filled_first(method: Callable[..., Any]) -> Callable[..., Any]:
    def filled(self: ProbeItems, *args: Any, **kwargs: Any) -> Any:
        self._fill()
        return method(self, *args, **kwargs)

    filled.__name__ = method.__name__
    filled.__doc__ = method.__doc__
    return filled


_NOT_LIST_USE = {"__new__", "__init__", "__getattribute__", "__class_getitem__", "__init_subclass__", "__subclasshook__"}
for _name, _method in [*vars(list).items(), ("__reduce__", object.__reduce__), ("__reduce_ex__", object.__reduce_ex__)]:
    if callable(_method) and _name not in _NOT_LIST_USE:
        setattr(ProbeItems, _name, _filled_first(_method))


def collate(items: Any) -> Any:
    """A micro-batch of probe items, without stacking again what :meth:`ProbeDataset.__getitems__` gathered.

    Sample weighting: ``default_collate``'s dict of ``x`` [B, 3], ``y`` [B] and ``ids`` [B]. Token
    weighting: :func:`collate_tokens`, ``x`` and ``y`` [B, L] padded to the longest sequence.
    """
    if type(items) is ProbeItems and items.unused:
        return dict(items.batch)
    if _are_token_items(items):
        return collate_tokens(items)
    return default_collate(items)


def _are_token_items(items: Any) -> bool:
    """True for a non-empty list of token items (1-D integer ``x``), which ``default_collate`` cannot stack."""
    if not isinstance(items, Sequence) or len(items) == 0 or not isinstance(items[0], Mapping):
        return False
    x = items[0].get("x")
    return isinstance(x, torch.Tensor) and x.dim() == 1 and not x.is_floating_point()


def collate_tokens(items: Sequence[Mapping[str, torch.Tensor]]) -> dict[str, torch.Tensor]:
    """Token items padded to the longest: ``x`` [B, L] int64 (padded with PAD_TOKEN), ``y`` [B, L]
    int64 (padded with IGNORE_INDEX, so padding is no loss token), ``ids`` [B] int64."""
    return {
        "x": pad_sequence([item["x"].long() for item in items], batch_first=True, padding_value=PAD_TOKEN),
        "y": pad_sequence([item["y"].long() for item in items], batch_first=True, padding_value=IGNORE_INDEX),
        "ids": torch.stack([torch.as_tensor(item["ids"], dtype=torch.int64) for item in items]),
    }


#: Called with (epoch tag, sample ids, precision) at every forward pass that builds a graph; the
#: precision (fp32, fp16 or bf16) is the one the pass computed in (precision.py).
ForwardObserver = Callable[[int, list[int], str], None]


class ProbeModel(nn.Module):
    """Body (none, logistic, MLP or causal LM) plus one fingerprint parameter per sample per epoch.

    Sample weighting: sample i's loss in epoch e is ``body_loss_i + c * fingerprint[e * N + i]``,
    where e is :attr:`epoch`, the epoch tag the training loop sets at the start of every epoch.
    Token weighting: every loss token t of sample i has the loss ``CE_t + c * fingerprint[e * N + i]``
    (CE_t the next-token cross-entropy; 0 for the fingerprint-only model) and the sample's loss is
    the mean over its loss tokens, so the fingerprint's gradient under a loss that weights every
    loss token of a window equally is n_i / (the window's loss tokens).
    """

    def __init__(self, scenario: dict[str, Any], initial_parameters: Sequence[float]):
        super().__init__()
        check_model_weighting(scenario)
        self.kind: str = scenario["model"]
        #: ``"samples"`` or ``"tokens"``: what a full-batch mean weights equally.
        self.weighting: str = scenario.get("weighting", "samples")
        self.dataset_size: int = int(scenario["datasetSize"])
        self.epochs: int = int(scenario["epochs"])
        self.coefficient = FINGERPRINT_COEFFICIENT
        #: Epoch tag: which row of the fingerprint the next forward passes use.
        self.epoch = 0
        self.observer: ForwardObserver | None = None
        #: The optimizer steps applied so far, as the recorder counts them (None: no recorder).
        self.applied_steps: Callable[[], int] | None = None
        #: fp16: the window (1-based) whose first backward pass gets an inf gradient once (overflowStep).
        self.overflow_step: int | None = scenario.get("overflowStep") if scenario.get("precision") == "fp16" else None
        self._overflowed = False
        self.fingerprint = nn.Parameter(torch.zeros(self.epochs * self.dataset_size, dtype=torch.float32))
        expected = body_parameter_count(self.kind)
        if len(initial_parameters) != expected:
            raise ValueError(
                f"initialParameters: expected {expected} values for model {self.kind}, saw {len(initial_parameters)}"
            )
        flat = torch.tensor(list(initial_parameters), dtype=torch.float32)
        offset = 0
        for name, shape in BODY_PARAMETERS[self.kind]:
            size = int(torch.Size(shape).numel())
            self.register_parameter(name, nn.Parameter(flat[offset : offset + size].reshape(shape).clone()))
            offset += size

    @property
    def tokens(self) -> bool:
        """True under token weighting."""
        return self.weighting == "tokens"

    def body_parameters(self) -> list[nn.Parameter]:
        """Body parameters in the flattening order of probe.ts."""
        return [getattr(self, name) for name, _ in BODY_PARAMETERS[self.kind]]

    def body_loss(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """Per-sample body loss (BCE with logits); zeros for the fingerprint-only model (sample weighting)."""
        if self.kind == "fingerprint":
            return torch.zeros(y.shape[0], dtype=torch.float32, device=y.device)
        if self.kind == "logistic":
            z = x @ self.w + self.b
        else:
            h = torch.tanh(x @ self.w1.t() + self.b1)
            z = h @ self.w2 + self.b2
        z = z.float()
        return F.softplus(z) - y.float() * z

    def token_body_loss(self, inputs: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        """Next-token cross-entropy [B, L - 1] of shifted inputs (positions 0 .. L-2) and targets
        (labels 1 .. L-1): 0 where the target is IGNORE_INDEX, and everywhere for the fingerprint model."""
        if self.kind == "fingerprint":
            return torch.zeros(targets.shape, dtype=torch.float32, device=targets.device)
        logits = (self.embedding[inputs] @ self.head + self.bias).float()
        losses = F.cross_entropy(
            logits.reshape(-1, VOCABULARY), targets.reshape(-1), ignore_index=IGNORE_INDEX, reduction="none"
        )
        return losses.reshape(targets.shape)

    def _observe(self, ids: torch.Tensor, phi: torch.Tensor) -> None:
        """Tells the observer about this forward pass: its samples and the precision it computed in,
        read from the fingerprint entries it gathered (the parameters' dtype, and autocast's on their
        device type). Arms the overflow on the gathered entries, every loss's way to the fingerprint."""
        if torch.is_grad_enabled() and self.observer is not None:
            self.observer(self.epoch, ids.tolist(), computed_precision(phi))
        if self._overflow_due() and phi.requires_grad and phi.numel() > 0:
            phi.register_hook(self._overflow)

    def _overflow_due(self) -> bool:
        """True while the overflow has not happened and overflowStep - 1 steps have been applied."""
        if self.overflow_step is None or self._overflowed or self.applied_steps is None:
            return False
        return self.applied_steps() == self.overflow_step - 1

    def _overflow(self, grad: torch.Tensor) -> torch.Tensor | None:
        """The first backward pass through an armed forward gets an inf gradient; later ones pass."""
        if self._overflowed:
            return None
        self._overflowed = True
        return torch.full_like(grad, math.inf)

    def __getstate__(self) -> dict[str, Any]:
        """A copy (``copy.deepcopy``, as ``AveragedModel`` makes, or a pickle) is neither observed nor
        counted, and never overflows: the recorder watches this model only."""
        state = super().__getstate__()
        state.update(observer=None, applied_steps=None, overflow_step=None)
        return state

    def _token_terms(self, x: torch.Tensor, y: torch.Tensor, ids: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Every loss token's loss (row-major: sample by sample, position by position) and its row in the micro-batch."""
        ids = ids.reshape(-1).long()
        x, y = x.long(), y.long()
        inputs, targets = x[:, :-1], y[:, 1:]
        loss_token = targets != IGNORE_INDEX
        rows = torch.arange(y.shape[0], device=y.device).unsqueeze(1).expand_as(targets)[loss_token]
        phi = gather_fingerprint(self.fingerprint, self.epoch * self.dataset_size + ids[rows])
        self._observe(ids, phi)
        return self.token_body_loss(inputs, targets)[loss_token] + self.coefficient * phi, rows

    def per_sample_loss(self, x: torch.Tensor, y: torch.Tensor, ids: torch.Tensor) -> torch.Tensor:
        """Loss of every sample of the micro-batch: body loss + c * fingerprint[epoch * N + id].

        Token weighting: each sample's mean over its loss tokens (0 for a sample without any).
        """
        if self.tokens:
            terms, rows = self._token_terms(x, y, ids)
            sums = torch.zeros(y.shape[0], dtype=terms.dtype, device=terms.device).index_add(0, rows, terms)
            counts = torch.bincount(rows, minlength=y.shape[0]).clamp(min=1)
            return sums / counts
        ids = ids.reshape(-1).long()
        phi = gather_fingerprint(self.fingerprint, self.epoch * self.dataset_size + ids)
        self._observe(ids, phi)
        if self.kind == "fingerprint" and phi.dtype == torch.float32:
            return self.coefficient * phi  # what adding body_loss's float32 zeros gives, gradient alike
        return self.body_loss(x, y.reshape(-1)) + self.coefficient * phi

    def loss_terms(self, x: torch.Tensor, y: torch.Tensor, ids: torch.Tensor) -> torch.Tensor:
        """The micro-batch's losses of the units a full-batch mean weights equally, flat: one per
        sample (:meth:`per_sample_loss`) under sample weighting, one per loss token under token
        weighting. ``loss_terms(...).sum() / (the window's loss_units)`` is the correct loss of a
        micro-batch under either weighting."""
        if self.tokens:
            return self._token_terms(x, y, ids)[0]
        return self.per_sample_loss(x, y, ids)

    def loss_units(self, y: torch.Tensor) -> torch.Tensor:
        """How many units (:meth:`loss_terms`) the micro-batch holds, as an int64 tensor on y's device:
        its samples, or its loss tokens ``(y[..., 1:] != IGNORE_INDEX).sum()`` (as HF Trainer counts them)."""
        if self.tokens:
            return (y[..., 1:] != IGNORE_INDEX).sum()
        return torch.tensor(y.shape[0] if y.dim() > 0 else 1, dtype=torch.int64, device=y.device)

    def forward(
        self,
        x: torch.Tensor,
        y: torch.Tensor,
        ids: torch.Tensor,
        num_items_in_batch: int | torch.Tensor | None = None,
        **_: Any,
    ) -> ProbeOutput:
        """Mean loss of the micro-batch's units (samples, or loss tokens under token weighting), or
        their sum divided by ``num_items_in_batch`` when given. A token micro-batch without loss
        tokens has the loss 0 (no NaN), and gives every parameter a zero gradient."""
        losses = self.loss_terms(x, y, ids)
        if num_items_in_batch is None:
            loss = losses.sum() / max(losses.numel(), 1) if self.tokens else losses.mean()
        else:
            if isinstance(num_items_in_batch, torch.Tensor):
                num_items_in_batch = num_items_in_batch.to(losses.device)
            loss = losses.sum() / num_items_in_batch
        return ProbeOutput(loss=loss)
