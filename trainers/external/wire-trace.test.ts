import { describe, expect, it } from "vitest";
import { parseScenario } from "../contract/scenario.js";
import { TraceError } from "../contract/trace.js";
import { decodeWireTrace, packFloat64, packFloat64Rows, unpackArray } from "./wire-trace.js";

const int32 = (values: number[]) => ({
  dtype: "int32" as const,
  base64: Buffer.from(Int32Array.from(values).buffer).toString("base64"),
});

const scenario = parseScenario({ datasetSize: 4, batchSize: 2, accumulation: 1 });

/** A one-step trace as a worker sends it, with the given fingerprint arrays. */
function wireTrace(fingerprint: Record<string, unknown>) {
  return {
    format: "accumaudit-trace",
    version: 1,
    trainer: { name: "python:fake" },
    scenario,
    steps: [{ epoch: 0, skipped: false, fingerprint, body: null }],
  };
}

describe("packed number arrays", () => {
  it("round-trips float64 values, non-finite ones as numbers", () => {
    const values = [0.25, -1e-300, Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY];
    expect(unpackArray(packFloat64(values))).toEqual(values);
  });

  it("packs rows one after the other, as packFloat64 packs them flattened", () => {
    const rows = [
      [0.5, -2, 1e-300],
      [3, Number.NaN, -0],
    ];
    expect(packFloat64Rows(rows)).toEqual(packFloat64(rows.flat()));
    expect(packFloat64Rows([])).toEqual(packFloat64([]));
    expect(() => packFloat64Rows([[1, 2], [3]])).toThrow("expected rows of 2 numbers, saw 1");
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
});

describe("decodeWireTrace", () => {
  it("decodes packed and plain arrays, and non-finite floats sent as strings, into numbers", () => {
    const packed = decodeWireTrace(
      wireTrace({
        epochs: int32([0, 0]),
        samples: int32([0, 1]),
        weights: packFloat64([0.5, Number.NaN]),
      }),
    );
    const plain = decodeWireTrace(
      wireTrace({ epochs: [0, 0], samples: [0, 1], weights: [0.5, "NaN"] }),
    );
    for (const trace of [packed, plain]) {
      expect(trace.steps[0]?.fingerprint.samples).toEqual([0, 1]);
      expect(trace.steps[0]?.fingerprint.weights[0]).toBe(0.5);
      expect(trace.steps[0]?.fingerprint.weights[1]).toBeNaN();
    }
    expect(
      decodeWireTrace(wireTrace({ epochs: [0], samples: [2], weights: ["-Infinity"] })).steps[0]
        ?.fingerprint.weights,
    ).toEqual([Number.NEGATIVE_INFINITY]);
  });

  it("names the field of a bad array", () => {
    expect(() =>
      decodeWireTrace(
        wireTrace({ epochs: [0], samples: [0], weights: { dtype: "float64", base64: "AAAA" } }),
      ),
    ).toThrow(/^invalid trace: steps\.0\.fingerprint\.weights: /);
    expect(() => decodeWireTrace(wireTrace({ epochs: [0], samples: [-1], weights: [1] }))).toThrow(
      TraceError,
    );
    for (const [samples, seen] of [
      [[0, -1], "-1"],
      [[0, 1.5], "1.5"],
    ] as const)
      expect(() =>
        decodeWireTrace(wireTrace({ epochs: [0, 0], samples: [...samples], weights: [1, 1] })),
      ).toThrow(
        `invalid trace: steps.0.fingerprint.samples.1: expected a non-negative whole number, saw ${seen}`,
      );
    const packedCounts = {
      dtype: "int32",
      base64: Buffer.from(Int32Array.from([0, -3]).buffer).toString("base64"),
    } as const;
    expect(() =>
      decodeWireTrace(wireTrace({ epochs: [0, 0], samples: packedCounts, weights: [1, 1] })),
    ).toThrow(
      "invalid trace: steps.0.fingerprint.samples.1: expected a non-negative whole number, saw -3",
    );
    expect(() => decodeWireTrace(wireTrace({ epochs: [0], samples: [9], weights: [1] }))).toThrow(
      "invalid trace: steps.0.fingerprint entry 0: expected epoch < 1 and sample < 4, saw epoch 0 sample 9",
    );
  });
});

describe("decodeWireTrace: what the steps did to the parameters", () => {
  it("decodes a step's update and the changes outside the steps, packed or plain", () => {
    const fingerprint = { epochs: [0, 0], samples: [0, 1], weights: [0.5, 0.5] };
    const trace = decodeWireTrace({
      ...wireTrace(fingerprint),
      steps: [
        {
          epoch: 0,
          skipped: false,
          fingerprint,
          body: null,
          update: {
            rule: "sgd",
            learningRate: 0.1,
            fingerprint: packFloat64([0.05, 0.05]),
            body: null,
            movedWithoutGradient: 0,
          },
        },
      ],
      outsideSteps: [
        {
          rank: 0,
          since: 1,
          stepsBefore: 1,
          fingerprint: { epochs: int32([0]), samples: int32([3]), changes: ["NaN"] },
          body: null,
        },
      ],
    });
    expect(trace.steps[0]?.update).toEqual({
      rule: "sgd",
      learningRate: 0.1,
      fingerprint: [0.05, 0.05],
      body: null,
      movedWithoutGradient: 0,
    });
    expect(trace.outsideSteps?.[0]?.fingerprint.samples).toEqual([3]);
    expect(trace.outsideSteps?.[0]?.fingerprint.changes[0]).toBeNaN();
  });

  it("names a bad update field", () => {
    const fingerprint = { epochs: [0], samples: [0], weights: [0.5] };
    const step = (update: Record<string, unknown>) => ({
      ...wireTrace(fingerprint),
      steps: [{ epoch: 0, skipped: false, fingerprint, body: null, update }],
    });
    const good = { rule: "sgd", fingerprint: [0.05], body: null, movedWithoutGradient: 0 };
    expect(() => decodeWireTrace(step({ ...good, rule: "adam" }))).toThrow(
      /^invalid trace: steps\.0\.update\.rule: /,
    );
    expect(() => decodeWireTrace(step({ ...good, fingerprint: [0.05, 1] }))).toThrow(
      "invalid trace: steps.0.update.fingerprint: expected 1 changes (one per fingerprint entry), saw 2",
    );
    expect(() => decodeWireTrace(step({ ...good, body: [1] }))).toThrow(
      "invalid trace: steps.0.update.body: expected null (the step has no body), saw 1",
    );
  });
});
