"""Run requests are checked against the JSON Schema the harness derives from its scenario schema."""

import pytest

from accumaudit_probe.run import RunError, check_scenario


def test_a_scenario_as_the_harness_sends_it_passes(make_scenario):
    scenario = make_scenario(shuffle=3, dropLast=True, precision="bf16")
    assert check_scenario(scenario) is scenario


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"datasetSize": None}, "scenario: 'datasetSize' is a required property"),
        ({"batchSize": 0}, "scenario.batchSize: 0 is less than the minimum of 1"),
        ({"accumulation": 1.5}, "scenario.accumulation: 1.5 is not of type 'integer'"),
        ({"precision": "fp8"}, "scenario.precision: 'fp8' is not one of ['fp32', 'fp16', 'bf16']"),
        ({"shuffle": True}, "scenario.shuffle: True is not valid under any of the given schemas"),
        ({"colour": "red"}, "scenario: Additional properties are not allowed ('colour' was unexpected)"),
    ],
)
def test_a_bad_scenario_is_one_line_naming_the_field(make_scenario, change, message):
    scenario = make_scenario()
    for key, value in change.items():
        if value is None:
            del scenario[key]
        else:
            scenario[key] = value
    with pytest.raises(RunError) as raised:
        check_scenario(scenario)
    assert str(raised.value) == message
    assert "\n" not in str(raised.value)


def test_a_request_that_is_no_object_is_refused():
    with pytest.raises(RunError, match=r"^scenario: \[\] is not of type 'object'$"):
        check_scenario([])
