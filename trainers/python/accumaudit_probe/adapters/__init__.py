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
registry.register_reset(reset_framework_state)
