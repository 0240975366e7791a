"""Trace encoding for the protocol: packed number arrays and non-finite floats as strings."""

from __future__ import annotations

import base64
import math
import sys
from array import array
from typing import Any


def wire_float(value: float) -> float | str:
    """A float JSON can carry: non-finite values become "NaN", "Infinity" or "-Infinity"."""
    if math.isfinite(value):
        return value
    if math.isnan(value):
        return "NaN"
    return "Infinity" if value > 0 else "-Infinity"


def unwire_float(value: float | int | str) -> float:
    """Reads a wire float back (the inverse of :func:`wire_float`)."""
    if isinstance(value, str):
        return {"NaN": math.nan, "Infinity": math.inf, "-Infinity": -math.inf}[value]
    return float(value)


def _pack(values: list[Any], dtype: str) -> dict[str, str]:
    data = array("d" if dtype == "float64" else "i", values)
    if sys.byteorder != "little":
        data.byteswap()
    return {"dtype": dtype, "base64": base64.b64encode(data.tobytes()).decode("ascii")}


def unpack(value: Any) -> list[Any]:
    """A number array from its wire form: a plain list or ``{"dtype", "base64"}``."""
    return value if isinstance(value, list) else unpack_array(value).tolist()


def unpack_array(value: dict[str, str]) -> array:
    """A packed number array (``{"dtype", "base64"}``) as an ``array`` in this machine's byte order
    (a buffer torch.frombuffer reads without a Python float per entry)."""
    data = array({"float64": "d", "int32": "i"}[value["dtype"]])
    data.frombytes(base64.b64decode(value["base64"]))
    if sys.byteorder != "little":
        data.byteswap()
    return data


def encode_floats(values: list[float], packed: bool) -> Any:
    return _pack(values, "float64") if packed else [wire_float(v) for v in values]


def encode_ints(values: list[int], packed: bool) -> Any:
    return _pack(values, "int32") if packed else values


def encode_steps(steps: list[dict[str, Any]], packed: bool) -> list[dict[str, Any]]:
    """Steps with their number arrays packed (or plain) and every float JSON-safe."""
    encoded_steps = []
    for step in steps:
        fingerprint = step["fingerprint"]
        encoded: dict[str, Any] = {
            "epoch": step["epoch"],
            "skipped": step["skipped"],
            "fingerprint": {
                "epochs": encode_ints(fingerprint["epochs"], packed),
                "samples": encode_ints(fingerprint["samples"], packed),
                "weights": encode_floats(fingerprint["weights"], packed),
            },
            "body": None
            if step["body"] is None
            else {
                "parametersBefore": encode_floats(step["body"]["parametersBefore"], packed),
                "gradient": encode_floats(step["body"]["gradient"], packed),
            },
        }
        if "lossScale" in step:
            encoded["lossScale"] = wire_float(step["lossScale"])
        if "update" in step:
            encoded["update"] = encode_update(step["update"], packed)
        if "optimizerSteps" in step:
            encoded["optimizerSteps"] = step["optimizerSteps"]
        if "average" in step:
            encoded["average"] = {key: encode_floats(values, packed) for key, values in step["average"].items()}
        encoded_steps.append(encoded)
    return encoded_steps


def encode_update(update: dict[str, Any], packed: bool) -> dict[str, Any]:
    """A step's ``update`` with its number arrays packed (or plain) and every float JSON-safe."""
    encoded = {
        "rule": update["rule"],
        "fingerprint": encode_floats(update["fingerprint"], packed),
        "body": None if update["body"] is None else encode_floats(update["body"], packed),
        "movedWithoutGradient": update["movedWithoutGradient"],
    }
    if "learningRate" in update:
        encoded["learningRate"] = update["learningRate"]
    return encoded


def encode_outside_change(change: dict[str, Any], packed: bool) -> dict[str, Any]:
    """A change outside the steps (``outsideSteps``) with its number arrays packed (or plain)."""
    fingerprint = change["fingerprint"]
    return {
        **{key: change[key] for key in ("rank", "since", "stepsBefore") if key in change},
        "fingerprint": {
            "epochs": encode_ints(fingerprint["epochs"], packed),
            "samples": encode_ints(fingerprint["samples"], packed),
            "changes": encode_floats(fingerprint["changes"], packed),
        },
        "body": None if change["body"] is None else encode_floats(change["body"], packed),
    }


def encode_trace(trace: dict[str, Any], packed: bool = True) -> dict[str, Any]:
    """The trace (v1 or v2) with its number arrays packed (or plain) and every float JSON-safe."""
    result = {
        key: value for key, value in trace.items() if key not in ("steps", "replicas", "microBatches", "outsideSteps")
    }
    result["steps"] = encode_steps(trace["steps"], packed)
    if "replicas" in trace:
        result["replicas"] = [
            {"rank": replica["rank"], "steps": encode_steps(replica["steps"], packed)} for replica in trace["replicas"]
        ]
    if "microBatches" in trace:
        result["microBatches"] = [
            {**micro_batch, "samples": encode_ints(micro_batch["samples"], packed)} for micro_batch in trace["microBatches"]
        ]
    if "outsideSteps" in trace:
        result["outsideSteps"] = [encode_outside_change(change, packed) for change in trace["outsideSteps"]]
    return result
