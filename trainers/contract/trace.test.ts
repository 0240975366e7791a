import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { simulateDataParallelTrace, simulateTrace } from "../../test/support/simulated-trace.js";
import { describeIssues, parseScenario } from "./scenario.js";
import { checkTraceIndices, parseTrace, TraceSchema } from "./trace.js";

/** What parseTrace gave before its fast path: the schema's parse of everything, then the index checks. */
function schemaOnly(input: unknown): { trace: unknown } | { error: string } {
  const parsed = TraceSchema.safeParse(input);
  if (!parsed.success) return { error: `invalid trace: ${describeIssues(parsed.error)}` };
  try {
    return { trace: checkTraceIndices(parsed.data) };
  } catch (error) {
    return { error: (error as Error).message };
  }
}

function viaParseTrace(input: unknown): { trace: unknown } | { error: string } {
  try {
    return { trace: parseTrace(input) };
  } catch (error) {
    return { error: (error as Error).message };
  }
}

const single = simulateTrace(
  parseScenario({ datasetSize: 11, batchSize: 2, accumulation: 2, epochs: 2, model: "logistic" }),
);
const ranks = simulateDataParallelTrace(
  { datasetSize: 13, batchSize: 2, accumulation: 2, worldSize: 3, epochs: 2 },
  "ddp-tail-step",
);

/** Values that break an entry's field in some way, or keep it valid. */
const replacement = fc.constantFrom<unknown>(
  undefined,
  null,
  -1,
  0,
  1.5,
  2,
  Number.NaN,
  Number.POSITIVE_INFINITY,
  "3",
  true,
  [],
  [0, 1],
  [-1],
  [0.5],
  ["x"],
  {},
  { epochs: [], samples: [], weights: [] },
  { parametersBefore: [1], gradient: [] },
);

/** Sets (or deletes, for undefined) the value at a path of a deep copy. */
function edited(trace: unknown, path: readonly (string | number)[], value: unknown): unknown {
  const copy = structuredClone(trace) as Record<string | number, unknown>;
  let target: Record<string | number, unknown> = copy;
  for (const key of path.slice(0, -1)) {
    const next = target[key];
    if (typeof next !== "object" || next === null) return copy;
    target = next as Record<string | number, unknown>;
  }
  const last = path.at(-1) as string | number;
  if (value === undefined && !Array.isArray(target)) delete target[last];
  else target[last] = value;
  return copy;
}

/** Paths into a trace's entries: a step's fields and its fingerprint's, a micro-batch's, a replica's. */
const entryPath = fc.oneof(
  fc.tuple(
    fc.constant("steps"),
    fc.nat(4),
    fc.constantFrom("epoch", "skipped", "fingerprint", "body", "lossScale", "extra"),
  ),
  fc.tuple(
    fc.constant("steps"),
    fc.nat(4),
    fc.constant("fingerprint"),
    fc.constantFrom("epochs", "samples", "weights", "extra"),
  ),
  fc.tuple(
    fc.constant("steps"),
    fc.nat(4),
    fc.constant("body"),
    fc.constantFrom("parametersBefore", "gradient", "extra"),
  ),
  fc.tuple(
    fc.constant("microBatches"),
    fc.nat(6),
    fc.constantFrom("epoch", "samples", "stepsBefore", "rank", "extra"),
  ),
  fc.tuple(fc.constant("replicas"), fc.nat(2), fc.constantFrom("rank", "steps", "extra")),
  fc.tuple(fc.constantFrom("steps", "microBatches", "replicas", "version", "format")),
);

describe("parseTrace", () => {
  it("passes the unbroken traces", () => {
    expect(parseTrace(structuredClone(single))).toEqual(single);
    expect(parseTrace(structuredClone(ranks))).toEqual(ranks);
  });

  it("gives what the schema alone gives, trace or error, for valid and broken entries alike", () => {
    fc.assert(
      fc.property(
        fc.constantFrom<unknown>(single, ranks),
        fc.array(fc.tuple(entryPath, replacement), { minLength: 0, maxLength: 3 }),
        (trace, edits) => {
          const input = edits.reduce((t, [path, value]) => edited(t, path, value), trace);
          expect(viaParseTrace(input)).toEqual(schemaOnly(input));
        },
      ),
      { numRuns: 600, seed: 12 },
    );
  });

  it("keeps the schema's order of fields", () => {
    const expected = schemaOnly(ranks) as { trace: object };
    expect(Object.keys(parseTrace(structuredClone(ranks)))).toEqual(Object.keys(expected.trace));
  });
});

describe("trainer.precision and trainer.forwardPrecisions", () => {
  const asked = (precision: "fp32" | "fp16" | "bf16", trainer: object) =>
    viaParseTrace({ ...single, scenario: { ...single.scenario, precision }, trainer });

  it("take what ran: another precision, and the precisions of the forward passes, lowest first", () => {
    expect(asked("fp16", { name: "t", precision: "fp32" })).toHaveProperty("trace");
    expect(
      asked("fp32", { name: "t", precision: "bf16", forwardPrecisions: ["bf16", "fp32"] }),
    ).toHaveProperty("trace");
    expect(
      asked("bf16", { name: "t", forwardPrecisions: ["bf16", "fp16", "fp32"] }),
    ).toHaveProperty("trace");
  });

  it("refuse forward precisions out of order, repeated or alone, in one line naming the field", () => {
    for (const forwardPrecisions of [["fp32", "bf16"], ["bf16", "bf16"], ["bf16"]]) {
      const result = asked("bf16", { name: "t", forwardPrecisions });
      expect(result).toHaveProperty("error");
      const { error } = result as { error: string };
      expect(error).toMatch(/^invalid trace: trainer\.forwardPrecisions/);
      expect(error).not.toContain("\n");
    }
  });

  it("refuse a lowest forward precision that is not the one that ran", () => {
    expect(asked("fp32", { name: "t", forwardPrecisions: ["bf16", "fp32"] })).toEqual({
      error:
        "invalid trace: trainer.forwardPrecisions: expected the lowest first to be the precision that ran, fp32 (trainer.precision, else the scenario's), saw bf16",
    });
  });
});
