"""Accelerate's trainers as registered for the step semantics (the verdicts: test/step-semantics-accelerate.test.ts)."""

from __future__ import annotations

from accumaudit_probe import registry
from conftest import scenario_dict

TRAINERS = ("accelerate", "accelerate-uneven", "accelerate-unguarded")


def test_every_step_field_is_wired_and_every_trainer_runs_data_parallel():
    scenario = scenario_dict(clipNorm=1.0, ema=0.9, schedule="cosine", warmupSteps=1, optimizer="adamw")
    for name in TRAINERS:
        assert registry.step_refusal(name, scenario) is None
    assert set(TRAINERS) <= set(registry.distributed_names())
