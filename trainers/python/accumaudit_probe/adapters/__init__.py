"""Framework adapters: the probe model trained by real frameworks, the way their users train.

Each adapter is a ``train(ctx: RunContext) -> None`` registered by name. Targets are
``"module:function"`` strings, so a framework is imported only when its trainer first runs
(once per worker), and a missing framework breaks only its own trainers.

| name                      | framework     | accumulation switch                                       | W > 1 |
| ------------------------- | ------------- | --------------------------------------------------------- | ----- |
| `lightning`               | Lightning     | ``Trainer(accumulate_grad_batches=K)``, ``strategy="ddp"`` | yes   |
| `accelerate`              | Accelerate    | ``Accelerator(gradient_accumulation_steps=K)``            | yes   |
| `accelerate-uneven`       | Accelerate    | the same, ``DataLoaderConfiguration(even_batches=False)`` | yes   |
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

registry.register("lightning", "accumaudit_probe.adapters.with_lightning:train", distributed=True)
registry.register("accelerate", "accumaudit_probe.adapters.with_accelerate:train", distributed=True)
registry.register("accelerate-uneven", "accumaudit_probe.adapters.with_accelerate:train_uneven", distributed=True)
registry.register("hf-trainer", "accumaudit_probe.adapters.with_hf_trainer:train_mean_loss", distributed=True)
registry.register("hf-trainer-items", "accumaudit_probe.adapters.with_hf_trainer:train_item_count", distributed=True)
registry.register(
    "hf-trainer-items-uneven", "accumaudit_probe.adapters.with_hf_trainer:train_item_count_uneven", distributed=True
)
registry.register("hf-trainer-kwargs", "accumaudit_probe.adapters.with_hf_trainer:train_kwargs_mean_loss")
registry.register("ignite", "accumaudit_probe.adapters.with_ignite:train")
registry.register("keras", "accumaudit_probe.adapters.with_keras:train")
registry.register("fastai", "accumaudit_probe.adapters.with_fastai:train")
registry.register("fastai-native", "accumaudit_probe.adapters.with_fastai:train_native")
registry.register("mmengine", "accumaudit_probe.adapters.with_mmengine:train")
registry.register("poutyne", "accumaudit_probe.adapters.with_poutyne:train")
registry.register_reset(reset_framework_state)
