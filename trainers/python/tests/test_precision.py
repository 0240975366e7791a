"""The precision a run really trained in, seen by the probe model (precision.py), and what the trace says.

The trainers are users' functions (precision_trainers.py) that never tell the probe what they ran.
"""

from __future__ import annotations

import logging
from typing import Any

import pytest
import torch

from accumaudit_probe.precision import computed_precision, lowest, precision_fields
from accumaudit_probe.run import run_scenario
from conftest import dataset, parameters_for, scenario_dict, weights


def run(trainer: str, **overrides: Any) -> dict[str, Any]:
    s = scenario_dict(**{"datasetSize": 20, "batchSize": 4, "accumulation": 2, "epochs": 2, **overrides})
    features, labels = dataset(s["datasetSize"])
    return run_scenario(f"precision_trainers:{trainer}", s, features, labels, parameters_for(s["model"]))


def precision_info(trace: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in trace["trainer"].items() if k in ("precision", "forwardPrecisions")}


# -- one forward pass ---------------------------------------------------------------------------------


def test_a_forward_pass_computes_in_the_lowest_of_its_dtype_and_autocasts():
    fp32, half = torch.zeros(2), torch.zeros(2, dtype=torch.float16)
    assert computed_precision(fp32) == "fp32"
    assert computed_precision(torch.zeros(2, dtype=torch.float64)) == "fp32"
    assert computed_precision(half) == "fp16"
    with torch.autocast("cpu", dtype=torch.bfloat16):
        assert computed_precision(fp32) == "bf16"
        assert computed_precision(half) == "bf16"  # bf16 rounds more than fp16
        with torch.autocast("cpu", enabled=False):
            assert computed_precision(fp32) == "fp32"
    with torch.autocast("cpu", dtype=torch.float16):
        assert computed_precision(fp32) == "fp16"
    assert computed_precision(torch.zeros(2, device="meta")) == "fp32"  # autocast knows no meta: off
    assert lowest([]) == "fp32"
    assert lowest(["fp32", "fp16"]) == "fp16"
    assert lowest(["fp16", "bf16", "fp32"]) == "bf16"


def test_the_trace_says_what_ran_only_when_it_is_not_what_was_asked():
    assert precision_fields("fp32", ["fp32"]) == {}
    assert precision_fields("fp16", ["fp32"]) == {"precision": "fp32"}
    assert precision_fields("fp32", ["fp32", "bf16"]) == {"precision": "bf16", "forwardPrecisions": ["bf16", "fp32"]}
    assert precision_fields("bf16", ["bf16", "fp32", "fp16"]) == {"forwardPrecisions": ["bf16", "fp16", "fp32"]}
    # Without a forward pass seen, the trainer's statement holds; without either, the scenario's.
    assert precision_fields("fp16", [], stated="fp32") == {"precision": "fp32"}
    assert precision_fields("fp16", []) == {}


def test_a_statement_that_disagrees_with_the_probe_is_overruled_with_a_warning(caplog):
    with caplog.at_level(logging.WARNING, logger="accumaudit_probe.precision"):
        assert precision_fields("fp32", ["bf16"], stated="fp32", trainer="python:mine") == {"precision": "bf16"}
    assert [r.getMessage() for r in caplog.records] == [
        "python:mine: set_effective_precision('fp32') disagrees with the probe model, whose forward passes ran bf16:"
        " the trace records bf16"
    ]
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="accumaudit_probe.precision"):
        assert precision_fields("fp16", ["bf16"], stated="bf16") == {"precision": "bf16"}
    assert caplog.records == []


# -- users' trainers that never say ---------------------------------------------------------------------


def test_autocast_bf16_in_an_fp32_scenario_is_a_bf16_run():
    trace = run("autocast_bf16", precision="fp32")
    assert precision_info(trace) == {"precision": "bf16"}
    assert len(trace["steps"]) == 6


def test_autocast_bf16_asked_for_is_no_change():
    assert precision_info(run("autocast_bf16", precision="bf16")) == {}


def test_fp16_asked_but_autocast_ignored_is_an_fp32_run_with_its_loss_scaled():
    trace = run("ignores_autocast", precision="fp16")
    assert precision_info(trace) == {"precision": "fp32"}
    # The GradScaler did scale the loss: no precision change, but every step says so.
    assert all(step["lossScale"] == 65536.0 for step in trace["steps"])


def test_forward_passes_in_two_precisions_record_both_and_the_lowest_ran():
    trace = run("bf16_after_first_epoch", precision="fp32")
    assert precision_info(trace) == {"precision": "bf16", "forwardPrecisions": ["bf16", "fp32"]}
    # Asked bf16: the run's lowest is what was asked, but the fp32 passes are still on record.
    assert precision_info(run("bf16_after_first_epoch", precision="bf16")) == {"forwardPrecisions": ["bf16", "fp32"]}


def test_autocast_on_a_device_type_the_probe_is_not_on_changes_nothing():
    assert precision_info(run("autocast_on_another_device", precision="fp32")) == {}


def test_a_model_cast_to_bf16_is_a_bf16_run():
    trace = run("bf16_model", precision="fp32", epochs=1)
    assert precision_info(trace) == {"precision": "bf16"}
    first = weights(trace["steps"][0])
    assert all(w == pytest.approx(1 / 8, rel=4e-2) for w in first.values())


def test_the_probe_overrules_a_wrong_statement(caplog):
    with caplog.at_level(logging.WARNING, logger="accumaudit_probe.precision"):
        trace = run("says_fp32_runs_bf16", precision="fp32")
    assert precision_info(trace) == {"precision": "bf16"}
    assert any("set_effective_precision('fp32') disagrees" in r.getMessage() for r in caplog.records)


def test_a_statement_holds_when_no_forward_pass_was_seen(caplog):
    with caplog.at_level(logging.WARNING, logger="accumaudit_probe.precision"):
        trace = run("says_bf16_runs_nothing", precision="fp32", model="fingerprint", batchSize=20, accumulation=1)
    assert trace["microBatches"] == []
    assert precision_info(trace) == {"precision": "bf16"}
    assert caplog.records == []


def test_set_effective_precision_names_the_precisions_it_takes():
    from accumaudit_probe.context import RunContext

    ctx = RunContext.__new__(RunContext)
    with pytest.raises(ValueError, match=r"^set_effective_precision: expected one of fp32, fp16, bf16, saw 'half'$"):
        ctx.set_effective_precision("half")


# -- the built-in loops run what they are asked -------------------------------------------------------


@pytest.mark.parametrize("precision", ["fp32", "fp16", "bf16"])
@pytest.mark.parametrize("model", ["fingerprint", "logistic"])
def test_the_reference_loop_runs_the_precision_asked(precision, model):
    s = scenario_dict(datasetSize=12, batchSize=4, accumulation=2, epochs=1, precision=precision, model=model)
    features, labels = dataset(12)
    trace = run_scenario("reference", s, features, labels, parameters_for(model))
    assert precision_info(trace) == {}
