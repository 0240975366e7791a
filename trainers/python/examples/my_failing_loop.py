"""A trainer with a bug of its own, to show how the worker reports an error in the user's code.

    PYTHONPATH=trainers/python/examples node dist/cli/main.js check --trainer python:my_failing_loop:train \
        --dataset-size 110 --batch-size 8 --accumulation 4 --epochs 2

answers `KeyError: 'labels' (my_failing_loop.py:19 in labels_of)`, and the error message's
"traceback" lists train, then labels_of (docs/protocol.md, error).
"""

from accumaudit_probe import RunContext


def train(ctx: RunContext) -> None:
    for batch in ctx.make_loader():
        labels_of(batch)


def labels_of(batch: dict) -> list:
    return batch["labels"]  # the probe dataset's batches hold "x", "y" and "ids"
