import json
import math

from accumaudit_probe.wire import encode_trace, unpack, wire_float


def trace_with(weights, gradient):
    return {
        "format": "accumaudit-trace",
        "version": 1,
        "steps": [
            {
                "epoch": 1,
                "skipped": False,
                "fingerprint": {"epochs": [1, 1], "samples": [5, 7], "weights": weights},
                "body": {"parametersBefore": [0.5, -1.0], "gradient": gradient},
                "lossScale": 65536.0,
            }
        ],
        "microBatches": [{"epoch": 1, "samples": [5, 7], "stepsBefore": 0}],
    }


def test_packed_arrays_round_trip_with_non_finite_values():
    encoded = encode_trace(trace_with([0.25, math.nan], [math.inf, -0.125]))
    text = json.dumps(encoded, allow_nan=False)
    step = json.loads(text)["steps"][0]
    assert unpack(step["fingerprint"]["samples"]) == [5, 7]
    weights = unpack(step["fingerprint"]["weights"])
    assert weights[0] == 0.25 and math.isnan(weights[1])
    assert unpack(step["body"]["gradient"]) == [math.inf, -0.125]
    assert unpack(json.loads(text)["microBatches"][0]["samples"]) == [5, 7]


def test_plain_encoding_writes_non_finite_floats_as_strings():
    encoded = encode_trace(trace_with([0.25, math.nan], [math.inf, -math.inf]), packed=False)
    assert encoded["steps"][0]["fingerprint"]["weights"] == [0.25, "NaN"]
    assert encoded["steps"][0]["body"]["gradient"] == ["Infinity", "-Infinity"]
    json.dumps(encoded, allow_nan=False)
    assert wire_float(1.5) == 1.5
