import { describe, expect, it } from "vitest";
import { packFloat64, unpackArray, unpackMessage } from "./protocol.js";

describe("packed number arrays", () => {
  it("round-trips float64 values, non-finite ones as wire floats", () => {
    const packed = packFloat64([
      0.25,
      -1e-300,
      Number.NaN,
      Number.POSITIVE_INFINITY,
      Number.NEGATIVE_INFINITY,
    ]);
    expect(unpackArray(packed)).toEqual([0.25, -1e-300, "NaN", "Infinity", "-Infinity"]);
  });

  it("reads little-endian int32", () => {
    expect(
      unpackArray({
        dtype: "int32",
        base64: Buffer.from([1, 0, 0, 0, 255, 255, 255, 255]).toString("base64"),
      }),
    ).toEqual([1, -1]);
  });

  it("rejects a byte count that is not a whole number of values", () => {
    expect(() => unpackArray({ dtype: "float64", base64: "AAAA" })).toThrow(
      "packed float64 array: expected a multiple of 8 bytes, saw 3",
    );
  });

  it("unpacks nested arrays and leaves other objects alone", () => {
    const message = {
      steps: [{ body: { gradient: packFloat64([1, 2]) }, epoch: 0 }],
      trainer: { name: "x" },
    };
    expect(unpackMessage(message)).toEqual({
      steps: [{ body: { gradient: [1, 2] }, epoch: 0 }],
      trainer: { name: "x" },
    });
  });
});
