"""Framework adapters: the probe model trained by real frameworks, the way their users train.

Each adapter is a ``train(ctx: RunContext) -> None`` registered by name. Targets are
``"module:function"`` strings, so a framework is imported only when its trainer first runs
(once per worker), and a missing framework breaks only its own trainers.

| name               | framework     | accumulation switch                                  |
| ------------------ | ------------- | ---------------------------------------------------- |
| `lightning`        | Lightning     | ``Trainer(accumulate_grad_batches=K)``               |
| `accelerate`       | Accelerate    | ``Accelerator(gradient_accumulation_steps=K)``       |
| `hf-trainer`       | transformers  | ``TrainingArguments(gradient_accumulation_steps=K)``, mean loss |
| `hf-trainer-items` | transformers  | the same, model takes ``num_items_in_batch``         |
| `hf-trainer-kwargs`| transformers  | the same, mean-loss model whose forward takes ``**kwargs`` |
"""

from __future__ import annotations

from .. import registry
from .framework_state import reset_framework_state

registry.register("lightning", "accumaudit_probe.adapters.with_lightning:train")
registry.register("accelerate", "accumaudit_probe.adapters.with_accelerate:train")
registry.register("hf-trainer", "accumaudit_probe.adapters.with_hf_trainer:train_mean_loss")
registry.register("hf-trainer-items", "accumaudit_probe.adapters.with_hf_trainer:train_item_count")
registry.register("hf-trainer-kwargs", "accumaudit_probe.adapters.with_hf_trainer:train_kwargs_mean_loss")
registry.register_reset(reset_framework_state)
