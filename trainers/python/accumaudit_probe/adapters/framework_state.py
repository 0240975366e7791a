"""Process-wide framework state: cleared before every scenario, and precision changes the frameworks make quietly."""

from __future__ import annotations

import gc
import logging
import sys
import time
from typing import Any

logger = logging.getLogger(__name__)


def reset_framework_state() -> None:
    """Forgets Accelerate's singletons (AcceleratorState, PartialState, GradientState).

    Accelerate keeps them as class-level shared dicts, and HF Trainer builds an Accelerator
    too, so a previous run's gradient-accumulation count, mixed-precision mode and sync flag
    would otherwise carry into the next run. Accelerate is touched only when a trainer has
    already imported it, so this costs nothing for the other trainers.
    """
    if "accelerate.state" not in sys.modules:
        return
    from accelerate.state import AcceleratorState, GradientState

    AcceleratorState._reset_state(reset_partial_state=True)
    GradientState._reset_state()


def warn_if_fp16_ignored(accelerator: Any, framework: str, precision: str) -> bool:
    """Warns when fp16 was asked for but the Accelerator runs neither autocast nor a loss scaler.

    Accelerate turns ``mixed_precision="fp16"`` into autocast plus GradScaler only on an
    accelerator; on the CPU it trains in fp32 without a word (seen with Accelerate 1.15, which
    HF Trainer uses too). The trace is then an fp32 run; this logs a warning (stderr) and
    returns True.
    """
    ignored = precision == "fp16" and not accelerator.native_amp and accelerator.scaler is None
    if ignored:
        logger.warning(
            "%s: precision fp16 on %s runs in fp32"
            " (Accelerate enables fp16 autocast and loss scaling only on accelerators)",
            framework,
            accelerator.device.type,
        )
    return ignored


def freeze_imported_objects() -> None:
    """Moves every object alive now (the frameworks' modules) out of the garbage collector's sight.

    HF Trainer ends ``train()`` with Accelerate's ``free_memory``, which calls ``gc.collect()``;
    after importing transformers that walk takes about 0.3 s per run, ten times the run itself.
    Called once per worker, right after a framework is imported, so later collections skip the
    modules and look only at what runs create.
    """
    gc.collect()
    gc.freeze()


#: How long a rank gives gloo's worker threads to let go of the last all-reduce (see below).
GLOO_SETTLE_S = 0.05


def let_gloo_threads_settle(ctx: Any) -> None:
    """With W > 1: sleeps briefly, so gloo's worker threads free the last all-reduce before the group goes.

    torch 2.13's backward stashes a Python object in thread-local state, and a DDP all-reduce
    started inside backward carries a copy; the gloo thread that ran it needs the GIL to free it.
    When the main thread drops the process group's last reference right after the last backward
    (Accelerate's ``end_training`` destroys the group, then the DDP wrapper goes with the
    function's frame), the group's destructor joins that thread while holding the GIL: a deadlock,
    seen in about one run in six (stack: ``~ProcessGroupGloo`` -> ``thread::join`` in the main
    thread, ``~AsyncAllreduceWork`` -> ``take_gil`` in ``pt_gloo_runloop``). Sleeping releases the
    GIL, so the waiting thread finishes first.
    """
    if ctx.is_distributed:
        time.sleep(GLOO_SETTLE_S)
