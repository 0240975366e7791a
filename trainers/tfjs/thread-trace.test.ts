import { describe, expect, it } from "vitest";
import { makeDataset } from "../contract/probe.js";
import { parseScenario } from "../contract/scenario.js";
import type { Trace } from "../contract/trace.js";
import { directTfjsTrainers } from "./built-in.js";
import { packTrace, unpackTrace } from "./thread-trace.js";

/** What the receiving thread gets: the packed trace posted with its buffer transferred. */
function posted(trace: Trace): Trace {
  const packed = packTrace(trace);
  const received = structuredClone(packed, { transfer: [packed.buffer] });
  expect(packed.buffer.byteLength).toBe(0);
  return unpackTrace(received);
}

describe("a trace crossing to the main thread", () => {
  it("arrives equal, every number array in one transferred buffer", async () => {
    const scenario = parseScenario({
      datasetSize: 23,
      batchSize: 4,
      accumulation: 2,
      epochs: 2,
      model: "mlp",
      precision: "fp16",
    });
    const reference = directTfjsTrainers().find((t) => t.name === "reference");
    const trace = await reference?.run(scenario, makeDataset(scenario));
    if (!trace) throw new Error("expected the reference trainer");
    const packed = packTrace(trace);
    const numbers =
      trace.steps.reduce(
        (total, step) =>
          total +
          3 * step.fingerprint.samples.length +
          2 * (step.body?.gradient.length ?? 0) +
          (step.update?.fingerprint.length ?? 0) +
          (step.update?.body?.length ?? 0),
        0,
      ) + (trace.microBatches ?? []).reduce((total, batch) => total + batch.samples.length, 0);
    expect(packed.buffer.byteLength).toBe(8 * numbers);
    expect(posted(trace)).toEqual(trace);
  });

  it("keeps the numbers a trainer may apply: NaN, infinities, -0", () => {
    const trace = {
      steps: [
        {
          epoch: 0,
          skipped: false,
          fingerprint: { epochs: [0, 0], samples: [3, 1], weights: [Number.NaN, -0] },
          body: { parametersBefore: [1e-300, -2.5], gradient: [Infinity, -Infinity] },
        },
      ],
      replicas: [],
    } as unknown as Trace;
    const received = posted(trace);
    expect(received).toEqual(trace);
    expect(Object.is(received.steps[0]?.fingerprint.weights[1], -0)).toBe(true);
    expect(Array.isArray(received.replicas)).toBe(true);
  });
});
