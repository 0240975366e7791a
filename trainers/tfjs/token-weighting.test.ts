import { beforeAll, describe, expect, it } from "vitest";
import { runCheck } from "../../properties/run-check.js";
import { makeDataset } from "../contract/probe.js";
import { parseScenario, type Scenario, type ScenarioInput } from "../contract/scenario.js";
import type { Trace } from "../contract/trace.js";
import type { Trainer } from "../contract/trainer.js";
import { selectBackend } from "./backend.js";
import { GradientBuffer } from "./gradients.js";
import { createLoader } from "./loader.js";
import { docsLoop, docsLoopTrainer } from "./loops/docs-loop.js";
import { referenceLoop, referenceTrainer } from "./loops/reference.js";
import { tailStepTrainer } from "./loops/tail-step.js";
import { twoLoopTrainer } from "./loops/two-loop.js";
import { LossScaler } from "./loss-scaler.js";
import { SgdOptimizer } from "./optimizer.js";
import { ProbeModel } from "./probe-model.js";
import { TraceRecorder } from "./recorder.js";
import { LearningRateScheduler } from "./schedule.js";
import type { TrainingSession } from "./session.js";

const tokens = (input: ScenarioInput): Scenario => parseScenario({ weighting: "tokens", ...input });

/** The real oracle's judgement of a trainer on a scenario, with each step's applied weights. */
async function check(trainer: Trainer, scenario: Scenario) {
  const outcome = await runCheck(trainer, scenario);
  if (outcome.verdict === "error") throw new Error(`${trainer.name}: ${JSON.stringify(outcome)}`);
  const weights = outcome.weights.byStep.map((step) =>
    Object.fromEntries(step.map((e) => [`${e.epoch}:${e.sample}`, e.weight])),
  );
  return { outcome, properties: outcome.properties, weights };
}

const f = Math.fround;

/** Each step's weights against the expected ones, to float32 rounding of the loops' arithmetic. */
function expectWeights(
  actual: Array<Record<string, number>>,
  expected: typeof actual,
  name: string,
) {
  expect(actual.map(Object.keys), name).toEqual(expected.map(Object.keys));
  actual.forEach((step, k) => {
    for (const [key, w] of Object.entries(step))
      expect(w, `${name} step ${k} ${key}`).toBeCloseTo(expected[k]?.[key] ?? Number.NaN, 7);
  });
}

beforeAll(() => selectBackend("cpu"));

describe("token weighting: the seed loops average per micro-batch", () => {
  // One window of two micro-batches of one sample each, with 1 and 2 loss tokens.
  const twoMicroBatches = tokens({
    datasetSize: 2,
    batchSize: 1,
    accumulation: 2,
    lengths: [1, 2],
  });

  it("expects 1/3 and 2/3 on micro-batches of 1 and 2 loss tokens; the reference gives them", async () => {
    const { outcome, weights } = await check(referenceTrainer, twoMicroBatches);
    expect(outcome.verdict).toBe("pass");
    expect(outcome.weights.expected).toEqual([[1 / 3, 2 / 3]]);
    expect(weights).toEqual([{ "0:0": f(1 / 3), "0:1": f(2 / 3) }]);
  });

  for (const trainer of [docsLoopTrainer, tailStepTrainer, twoLoopTrainer])
    it(`${trainer.name} gives both 1/2 and fails weighting only`, async () => {
      for (const model of ["fingerprint", "causal-lm"] as const) {
        const scenario = { ...twoMicroBatches, model };
        const { outcome, properties, weights } = await check(trainer, scenario);
        expect(weights).toEqual([{ "0:0": 0.5, "0:1": 0.5 }]);
        expect(outcome.verdict).toBe("fail");
        expect([properties.coverage.ok, properties.windowing.ok]).toEqual([true, true]);
        expect(properties.weighting.ok).toBe(false);
        // The first sample got 1/2 where 1/3 was due.
        expect(properties.weighting.maxRelError).toBeCloseTo(0.5, 6);
        if (model === "causal-lm")
          expect(properties.weighting.bodyMaxRelError).toBeGreaterThan(
            properties.weighting.bodyTolerance,
          );
      }
    });

  it("weights n_i / (loss tokens of its micro-batch x K) in docs-loop, tail-step and two-loop", async () => {
    // Micro-batches {0,1} {2,3} | {4,5} {6} with 3+0, 5+1 | 3+0, 5 loss tokens; K = 2.
    const scenario = tokens({
      datasetSize: 7,
      batchSize: 2,
      accumulation: 2,
      lengths: [3, 0, 5, 1],
      model: "causal-lm",
    });
    const reference = await check(referenceTrainer, scenario);
    expect(reference.outcome.verdict).toBe("pass");
    expectWeights(
      reference.weights,
      [
        { "0:0": 3 / 9, "0:2": 5 / 9, "0:3": 1 / 9 },
        { "0:4": 3 / 8, "0:6": 5 / 8 },
      ],
      "reference",
    );
    for (const trainer of [docsLoopTrainer, tailStepTrainer, twoLoopTrainer]) {
      const { outcome, weights } = await check(trainer, scenario);
      expect(outcome.verdict, trainer.name).toBe("fail");
      expectWeights(
        weights,
        [
          { "0:0": 3 / 6, "0:2": 5 / 12, "0:3": 1 / 12 },
          { "0:4": 3 / 6, "0:6": 5 / 10 },
        ],
        trainer.name,
      );
    }
  });

  it("on a one-micro-batch tail: docs-loop loses it, tail-step divides it by K, two-loop by 1", async () => {
    const scenario = tokens({ datasetSize: 3, batchSize: 1, accumulation: 2, lengths: [1, 2, 3] });
    const first = { "0:0": 0.5, "0:1": 0.5 };
    const docs = await check(docsLoopTrainer, scenario);
    expect(docs.weights).toEqual([first]);
    expect(docs.properties.coverage.ok).toBe(false);
    expect((await check(tailStepTrainer, scenario)).weights).toEqual([first, { "0:2": 0.5 }]);
    expect((await check(twoLoopTrainer, scenario)).weights).toEqual([first, { "0:2": 1 }]);
    const reference = await check(referenceTrainer, scenario);
    expect(reference.weights).toEqual([{ "0:0": f(1 / 3), "0:1": f(2 / 3) }, { "0:2": 1 }]);
  });
});

/** A session on the cpu backend with phi's gradient sparse or dense (webgpu's path). */
function openTokenSession(scenario: Scenario, sparseGradients: boolean) {
  const recorder = new TraceRecorder(scenario.datasetSize);
  const model = new ProbeModel(scenario, makeDataset(scenario), recorder, { sparseGradients });
  const scaler = scenario.precision === "fp16" ? new LossScaler() : null;
  const gradients = new GradientBuffer(model, scenario.precision, scaler);
  const optimizer = new SgdOptimizer(model, gradients, scenario.learningRate, scaler, recorder);
  const epochs = createLoader(scenario);
  const info = { name: "t", framework: "tensorflow.js", frameworkVersion: "x" };
  const session: TrainingSession = {
    scenario,
    model,
    gradients,
    optimizer,
    scheduler: new LearningRateScheduler(optimizer, scenario.learningRate, {
      schedule: "constant",
      warmupSteps: 0,
      totalSteps: 1,
    }),
    average: null,
    loader: {
      length: epochs.length,
      epoch: (epoch) => {
        model.setEpoch(epoch);
        return epochs.epoch(epoch);
      },
    },
    finish: () => recorder.finish(info, scenario),
    dispose: () => {
      recorder.dispose();
      gradients.zero();
      model.dispose();
    },
  };
  return session;
}

async function traceOf(
  scenario: Scenario,
  sparse: boolean,
  loop: (session: TrainingSession) => void,
): Promise<Trace> {
  const session = openTokenSession(scenario, sparse);
  try {
    loop(session);
    return await session.finish();
  } finally {
    session.dispose();
  }
}

describe("token weighting: sparse and dense fingerprint gradients", () => {
  const loops = {
    reference: referenceLoop,
    "docs-loop": (session: TrainingSession) => docsLoop(session, session.scenario.accumulation),
  };
  for (const precision of ["fp32", "fp16", "bf16"] as const)
    it(`give the same traces, bit for bit, in ${precision}`, async () => {
      const scenario = tokens({
        datasetSize: 13,
        batchSize: 3,
        accumulation: 2,
        epochs: 2,
        shuffle: 4,
        precision,
        model: "causal-lm",
        lengths: [4, 0, 1, 7, 2],
      });
      for (const [name, loop] of Object.entries(loops)) {
        const sparse = await traceOf(scenario, true, loop);
        const dense = await traceOf(scenario, false, loop);
        expect(sparse.steps.length, name).toBeGreaterThan(0);
        expect(dense, name).toEqual(sparse);
      }
    });
});

describe("token weighting on wasm", () => {
  it("runs the causal-lm reference with cpu's weights, sparse and dense", async () => {
    const scenario = tokens({
      datasetSize: 11,
      batchSize: 3,
      accumulation: 2,
      model: "causal-lm",
      lengths: [2, 0, 5, 1],
    });
    const onCpu = await referenceTrainer.run(scenario, makeDataset(scenario), { backend: "cpu" });
    await selectBackend("wasm");
    try {
      const traces = [await traceOf(scenario, true, referenceLoop)];
      traces.push(await traceOf(scenario, false, referenceLoop));
      for (const trace of traces) {
        expect(trace.steps.map((s) => s.fingerprint)).toEqual(
          onCpu.steps.map((s) => s.fingerprint),
        );
        trace.steps.forEach((step, k) => {
          step.body?.gradient.forEach((g, j) => {
            expect(g).toBeCloseTo(onCpu.steps[k]?.body?.gradient[j] ?? Number.NaN, 5);
          });
        });
      }
    } finally {
      await selectBackend("cpu");
    }
  });
});
