"""Framework adapters: the probe model trained by real frameworks, the way their users train.

Each adapter is a ``train(ctx: RunContext) -> None`` registered by name. Targets are
``"module:function"`` strings, so a framework is imported only when its trainer first runs
(once per worker), and a missing framework breaks only its own trainers.

| name                      | framework     | accumulation switch                                       | W > 1 |
| ------------------------- | ------------- | --------------------------------------------------------- | ----- |
| `lightning`               | Lightning     | ``Trainer(accumulate_grad_batches=K)``, ``strategy="ddp"`` | yes   |
| `accelerate`              | Accelerate    | ``Accelerator(gradient_accumulation_steps=K)``            | yes   |
| `accelerate-uneven`       | Accelerate    | the same, ``DataLoaderConfiguration(even_batches=False)`` | yes   |
| `accelerate-unguarded`    | Accelerate    | the same, clipping without ``if accelerator.sync_gradients:`` | yes |
| `hf-trainer`              | transformers  | ``TrainingArguments(gradient_accumulation_steps=K)``      | yes   |
| `hf-trainer-items`        | transformers  | the same, model takes ``num_items_in_batch``              | yes   |
| `hf-trainer-items-uneven` | transformers  | ``hf-trainer-items``, ``even_batches`` off                | yes   |
| `hf-trainer-kwargs`       | transformers  | mean-loss model whose forward takes ``**kwargs``          | no    |
| `ignite`                  | pytorch-ignite | ``create_supervised_trainer(gradient_accumulation_steps=K)`` | no |
| `keras`                   | Keras 3 (torch) | ``SGD(gradient_accumulation_steps=K)``, ``model.fit``     | no    |
| `fastai`                  | fastai        | ``GradientAccumulation(n_acc=B*K)``, torch optimizer       | no    |
| `fastai-native`           | fastai        | the same with fastai's own ``SGD``                         | no    |
| `mmengine`                | mmengine      | ``OptimWrapper(accumulative_counts=K)`` in a Runner        | no    |
| `poutyne`                 | poutyne       | ``Model.fit(batches_per_step=K)``                          | no    |

At W > 1 every rank runs the same adapter, started like ``torchrun`` starts a script; the
framework joins the process group and shards the data itself.
"""

from __future__ import annotations

from .. import registry
from .framework_state import reset_framework_state

#: Every step-semantics field (each set with the framework's own option), and all but the average.
EVERY = registry.ALL_STEP_FIELDS
NO_AVERAGE = EVERY - {"ema"}
#: Why a framework refuses a field it has no option for (one line, naming what it lacks).
HF_NO_EMA = {"ema": "transformers' Trainer keeps no moving average of the weights (no TrainingArguments option or callback for one)"}
FASTAI_NO_EMA = {"ema": "fastai 2.8 has no weight-averaging callback (no EMA or SWA in fastai.callback)"}
IGNITE_NO_CLIP = {
    "clipNorm": "pytorch-ignite has no gradient clipping: create_supervised_trainer takes no clip option and ignite.handlers has no clipping handler"
}
POUTYNE_REFUSALS = {
    "ema": "Poutyne 1.19 has no weight-averaging callback (no EMA or SWA in poutyne.framework.callbacks)",
    "overflowStep": "Poutyne has no mixed-precision training (no autocast, no GradScaler), so it never skips an overflowed step",
}


def _register(name: str, target: str, fields: frozenset[str], refusals: dict[str, str] | None = None, distributed: bool = False) -> None:
    registry.register(name, f"accumaudit_probe.adapters.{target}", distributed=distributed, step_fields=fields, refusals=refusals)


_register("lightning", "with_lightning:train", EVERY, distributed=True)
_register("accelerate", "with_accelerate:train", EVERY, distributed=True)
_register("accelerate-uneven", "with_accelerate:train_uneven", EVERY, distributed=True)
_register("accelerate-unguarded", "with_accelerate:train_unguarded", EVERY, distributed=True)
_register("hf-trainer", "with_hf_trainer:train_mean_loss", NO_AVERAGE, HF_NO_EMA, distributed=True)
_register("hf-trainer-items", "with_hf_trainer:train_item_count", NO_AVERAGE, HF_NO_EMA, distributed=True)
_register("hf-trainer-items-uneven", "with_hf_trainer:train_item_count_uneven", NO_AVERAGE, HF_NO_EMA, distributed=True)
_register("hf-trainer-kwargs", "with_hf_trainer:train_kwargs_mean_loss", NO_AVERAGE, HF_NO_EMA)
_register("ignite", "with_ignite:train", EVERY - {"clipNorm"}, IGNITE_NO_CLIP)
_register("keras", "with_keras:train", EVERY)
_register("fastai", "with_fastai:train", NO_AVERAGE, FASTAI_NO_EMA)
_register("fastai-native", "with_fastai:train_native", NO_AVERAGE, FASTAI_NO_EMA)
_register("mmengine", "with_mmengine:train", EVERY)
_register("poutyne", "with_poutyne:train", NO_AVERAGE - {"overflowStep"}, POUTYNE_REFUSALS)
registry.register_reset(reset_framework_state)
