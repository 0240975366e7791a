"""accumaudit in a project's own tests (pytest): the loops beside this file, checked and audited.

Run from this folder's parent with ``python -m pytest examples/test_with_accumaudit.py``; the
loops are importable because pytest puts this folder on ``sys.path``, which the checks pass on.
"""

import pytest

from accumaudit_probe.testing import assert_audit_passes, assert_passes, check


def test_my_correct_loop_uses_every_sample_once_with_its_weight():
    assert_passes("python:my_correct_loop:train", dataset_size=110, batch_size=8, accumulation=4, epochs=2)


def test_my_broken_loop_is_caught_with_the_property_and_the_fix():
    with pytest.raises(AssertionError, match="✗ coverage") as failure:
        assert_passes("python:my_broken_loop:train", dataset_size=110, batch_size=8, accumulation=4, epochs=2)
    assert "how to fix it:" in str(failure.value)


def test_my_scheduled_loop_steps_its_schedule_and_average_once_per_step():
    result = check(
        "python:my_scheduled_loop:train",
        dataset_size=128,
        batch_size=8,
        accumulation=4,
        epochs=2,
        schedule="cosine",
        warmup_steps=2,
        ema=0.9,
    )
    assert result.passed, result.report()
    assert result.properties["schedule"]["ok"] and result.properties["averaging"]["ok"]


def test_my_correct_loop_holds_under_the_search():
    assert_audit_passes("python:my_correct_loop:train", runs=20, seed=1, max_dataset_size=48)
