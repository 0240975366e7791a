import { describe, expect, it } from "vitest";
import { runCheck } from "../../../properties/run-check.js";
import { occurrences, stepWeights } from "../../../test/support/step-weights.js";
import { makeDataset } from "../../contract/probe.js";
import { parseScenario, type ScenarioInput } from "../../contract/scenario.js";
import type { Trace } from "../../contract/trace.js";
import { openSession } from "../session.js";
import { docsLoopTrainer } from "./docs-loop.js";
import { referenceLoop, referenceTrainer } from "./reference.js";

async function runReference(input: ScenarioInput): Promise<Trace> {
  const scenario = parseScenario(input);
  return referenceTrainer.run(scenario, makeDataset(scenario));
}

/** Each applied step's sample count from the trace's forward passes, checked against its weights. */
function expectSampleCountWeights(trace: Trace): void {
  const applied = trace.steps.filter((s) => !s.skipped);
  for (const step of applied) {
    const weights = stepWeights(step);
    for (const [key, w] of weights) {
      expect(Number(key.split(":")[0]), `step epoch for ${key}`).toBe(step.epoch);
      expect(w, key).toBe(Math.fround(1 / weights.size));
    }
  }
}

function appliedOccurrences(trace: Trace): string[] {
  return trace.steps.flatMap((s) => [...stepWeights(s).keys()]);
}

describe("reference trainer", () => {
  it("on 110/8/4 over 2 epochs gives every sample 1/|W| in its own epoch, tail flushed", async () => {
    const trace = await runReference({
      datasetSize: 110,
      batchSize: 8,
      accumulation: 4,
      epochs: 2,
    });
    expect(trace.steps.map((s) => s.epoch)).toEqual([0, 0, 0, 0, 1, 1, 1, 1]);
    expectSampleCountWeights(trace);
    const tail = stepWeights(trace.steps[3] ?? expect.fail("no step 3"));
    expect([...tail.keys()]).toEqual(occurrences(0, 96, 109));
    expect(tail.get("0:109")).toBe(Math.fround(1 / 14));
    expect(appliedOccurrences(trace).sort()).toEqual(
      [...occurrences(0, 0, 109), ...occurrences(1, 0, 109)].sort(),
    );
  });

  it("on 1000/128/4 gives the 104-sample micro-batch the same weight as the rest", async () => {
    const trace = await runReference({ datasetSize: 1000, batchSize: 128, accumulation: 4 });
    expect(trace.steps).toHaveLength(2);
    const last = stepWeights(trace.steps[1] ?? expect.fail("no step 1"));
    expect(last.size).toBe(488);
    expect(new Set(last.values())).toEqual(new Set([Math.fround(1 / 488)]));
  });

  it("covers every kept sample once per epoch when shuffled with drop_last", async () => {
    const trace = await runReference({
      datasetSize: 50,
      batchSize: 7,
      accumulation: 3,
      epochs: 3,
      shuffle: 11,
      dropLast: true,
    });
    expectSampleCountWeights(trace);
    const kept = trace.microBatches?.flatMap((m) => m.samples.map((i) => `${m.epoch}:${i}`));
    expect(kept).toHaveLength(3 * 49);
    expect(appliedOccurrences(trace).sort()).toEqual([...(kept ?? [])].sort());
  });

  it("runs on a data source of unknown length", async () => {
    const scenario = parseScenario({ datasetSize: 23, batchSize: 4, accumulation: 2, epochs: 2 });
    const session = await openSession("reference", scenario, makeDataset(scenario));
    const stream = {
      get length(): number {
        throw new Error("the stream's length is unknown");
      },
      epoch: session.loader.epoch,
    };
    try {
      referenceLoop({ ...session, loader: stream });
      const trace = await session.finish();
      expect(trace.steps.map((s) => stepWeights(s).size)).toEqual([8, 8, 7, 8, 8, 7]);
      expectSampleCountWeights(trace);
    } finally {
      session.dispose();
    }
  });

  it("redoes a window whose fp16 scaled gradient overflows, so no sample is lost", async () => {
    // A 1-sample window: the fingerprint gradient is lossScale x 1 = 65536, beyond half range.
    const input = { datasetSize: 3, batchSize: 1, accumulation: 1, precision: "fp16" } as const;
    const trace = await runReference(input);
    expect(trace.steps.map((s) => [s.skipped, s.lossScale])).toEqual([
      [true, 65536],
      [false, 32768],
      [false, 32768],
      [false, 32768],
    ]);
    expect(trace.steps.map((s) => [...stepWeights(s)])).toEqual([
      [],
      [["0:0", 1]],
      [["0:1", 1]],
      [["0:2", 1]],
    ]);
    expect(trace.microBatches?.map((m) => [m.samples[0], m.stepsBefore])).toEqual([
      [0, 0],
      [0, 1],
      [1, 2],
      [2, 3],
    ]);

    const docs = await docsLoopTrainer.run(parseScenario(input), makeDataset(parseScenario(input)));
    expect(docs.steps.map((s) => s.skipped)).toEqual([true, false, false]);
    expect(appliedOccurrences(docs)).toEqual(["0:1", "0:2"]);
  });

  it("applies every sample with an mlp body in fp16 and bf16", async () => {
    for (const precision of ["fp16", "bf16"] as const) {
      const trace = await runReference({
        datasetSize: 37,
        batchSize: 5,
        accumulation: 3,
        epochs: 2,
        precision,
        model: "mlp",
      });
      expectSampleCountWeights(trace);
      expect(new Set(appliedOccurrences(trace)).size).toBe(74);
      for (const step of trace.steps.filter((s) => !s.skipped))
        expect(step.body?.gradient.every((g) => typeof g === "number")).toBe(true);
    }
  });
});

describe("reference trainer under token weighting", () => {
  const cases: ScenarioInput[] = [
    { datasetSize: 9, batchSize: 2, accumulation: 2, lengths: [1, 5, 2] },
    { datasetSize: 9, batchSize: 2, accumulation: 2, lengths: [1, 5, 2], model: "causal-lm" },
    { datasetSize: 10, batchSize: 3, accumulation: 2, lengths: [3, 0, 0, 4], model: "causal-lm" },
    { datasetSize: 4, batchSize: 1, accumulation: 2, lengths: [0, 0, 2] },
    {
      datasetSize: 23,
      batchSize: 4,
      accumulation: 3,
      epochs: 2,
      shuffle: 9,
      dropLast: true,
      lengths: "0-8",
      model: "causal-lm",
    },
    {
      datasetSize: 17,
      batchSize: 3,
      accumulation: 2,
      epochs: 2,
      precision: "fp16",
      model: "causal-lm",
    },
    {
      datasetSize: 17,
      batchSize: 3,
      accumulation: 2,
      epochs: 2,
      precision: "bf16",
      model: "causal-lm",
    },
  ];
  for (const input of cases)
    it(`passes the oracle on ${JSON.stringify(input)}`, async () => {
      const outcome = await runCheck(
        referenceTrainer,
        parseScenario({ weighting: "tokens", ...input }),
      );
      const detail = outcome.verdict === "error" ? outcome.error : outcome.properties;
      expect(outcome.verdict, JSON.stringify(detail)).toBe("pass");
    });

  it("gives each sample n_i / (loss tokens of its window), a sample without any nothing", async () => {
    const trace = await runReference({
      datasetSize: 5,
      batchSize: 2,
      accumulation: 2,
      weighting: "tokens",
      lengths: [1, 2, 0, 4, 3],
    });
    expect(trace.steps.map((s) => [...stepWeights(s)])).toEqual([
      [
        ["0:0", Math.fround(1 / 7)],
        ["0:1", Math.fround(2 / 7)],
        ["0:3", Math.fround(4 / 7)],
      ],
      [["0:4", 1]],
    ]);
  });

  it("redoes an fp16 window whose token-summed fingerprint gradient overflows", async () => {
    // 3 loss tokens x loss scale 65536 overflows half precision; 32768 x 3 still does.
    const trace = await runReference({
      datasetSize: 1,
      batchSize: 1,
      accumulation: 1,
      precision: "fp16",
      weighting: "tokens",
      lengths: [3],
    });
    expect(trace.steps.map((s) => [s.skipped, s.lossScale])).toEqual([
      [true, 65536],
      [true, 32768],
      [false, 16384],
    ]);
    expect([...stepWeights(trace.steps[2] ?? expect.fail("no step 2"))]).toEqual([["0:0", 1]]);
  });
});
