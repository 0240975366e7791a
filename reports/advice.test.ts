import { describe, expect, it } from "vitest";
import { CORRECT, type LoopState, simulateLoop } from "../test/support/loop-simulator.js";
import { judge, judgeLoop } from "../test/support/outcomes.js";
import { simulateDataParallelTrace, simulateTrace } from "../test/support/simulated-trace.js";
import { parseScenario, type ScenarioInput } from "../trainers/contract/scenario.js";
import type { Trace } from "../trainers/contract/trace.js";
import { adviceFor, mistakesOf } from "./advice.js";
import { formatAdvice } from "./text.js";

/** A trace whose steps give these (epoch, sample, weight) entries, one step per list, fed in that order. */
function traceOf(
  scenario: Parameters<typeof parseScenario>[0],
  steps: Array<Array<[number, number, number]>>,
  stepEpochs: number[],
): Trace {
  const s = parseScenario(scenario);
  return {
    format: "accumaudit-trace",
    version: 2,
    trainer: { name: "by-hand" },
    scenario: s,
    steps: steps.map((entries, k) => ({
      epoch: stepEpochs[k] ?? 0,
      skipped: false,
      fingerprint: {
        epochs: entries.map(([e]) => e),
        samples: entries.map(([, i]) => i),
        weights: entries.map(([, , w]) => w),
      },
      body: null,
    })),
    microBatches: steps.flatMap((entries, k) =>
      entries.map(([epoch, sample]) => ({ epoch, samples: [sample], stepsBefore: k, rank: 0 })),
    ),
  };
}

/** Every micro-batch's mean divided by K, as the documentation loop scales its loss. */
const meanOverK = (state: LoopState) =>
  1 / (state.scenario.accumulation * state.unitsOf(state.batches[state.position] ?? []));

/**
 * The DDP reference's trace with every step re-weighted as ranks that divide by their own samples
 * in the window do (then DDP averages): weight 1 / (W x the rank's samples in the window).
 */
function perRankCounts(scenario: ScenarioInput): ReturnType<typeof judge> {
  const trace = simulateDataParallelTrace(scenario, "ddp-reference");
  const w = trace.scenario.worldSize;
  const rankOf = new Map<number, number>();
  for (const mb of trace.microBatches ?? [])
    for (const s of mb.samples) rankOf.set(s, mb.rank ?? 0);
  const reweigh = (step: Trace["steps"][number]) => {
    const perRank = new Map<number, number>();
    for (const s of step.fingerprint.samples)
      perRank.set(rankOf.get(s) ?? 0, (perRank.get(rankOf.get(s) ?? 0) ?? 0) + 1);
    step.fingerprint.weights = step.fingerprint.samples.map(
      (s) => 1 / (w * (perRank.get(rankOf.get(s) ?? 0) ?? 1)),
    );
  };
  trace.steps.forEach(reweigh);
  for (const replica of trace.replicas ?? []) replica.steps.forEach(reweigh);
  return judge(trace);
}

describe("advice", () => {
  it.each([
    [
      "docs-loop that never steps",
      () => judgeLoop({ datasetSize: 1, batchSize: 1, accumulation: 2 }, "docs-loop"),
      ["no-step"],
    ],
    [
      "docs-loop's leaked and lost tail",
      () => judgeLoop({ datasetSize: 110, batchSize: 8, accumulation: 4, epochs: 2 }, "docs-loop"),
      ["tail-never-stepped", "tail-divided-by-k"],
    ],
    [
      "a loop that clears the gradient at every epoch start (the tail lost in every epoch)",
      () =>
        judge(
          simulateLoop(
            { datasetSize: 110, batchSize: 8, accumulation: 4, epochs: 2 },
            {
              ...CORRECT,
              stepAfter: (s) => (s.position + 1) % s.scenario.accumulation === 0,
              clearAtEpochStart: true,
            },
          ),
        ),
      ["tail-never-stepped"],
    ],
    [
      "tail-step's tail divided by K",
      () => judgeLoop({ datasetSize: 3, batchSize: 1, accumulation: 2 }, "tail-step"),
      ["tail-divided-by-k"],
    ],
    [
      "two-loop's smaller last micro-batch",
      () => judgeLoop({ datasetSize: 3, batchSize: 2, accumulation: 2 }, "two-loop"),
      ["micro-batch-mean"],
    ],
    [
      "a step counter that runs across epochs",
      // 3 samples, B 1, K 2, 2 epochs: the second step holds epoch 1's last micro-batch and epoch 2's first.
      () =>
        judge(
          traceOf(
            { datasetSize: 3, batchSize: 1, accumulation: 2, epochs: 2 },
            [
              [
                [0, 0, 0.5],
                [0, 1, 0.5],
              ],
              [
                [0, 2, 0.5],
                [1, 0, 0.5],
              ],
              [
                [1, 1, 0.5],
                [1, 2, 0.5],
              ],
            ],
            [0, 1, 1],
          ),
        ),
      ["counter-across-epochs"],
    ],
    [
      "a micro-batch count over the run, each micro-batch mean / K (the last 2 micro-batches lost)",
      () =>
        judge(
          simulateLoop(
            { datasetSize: 110, batchSize: 8, accumulation: 4, epochs: 3 },
            { scale: meanOverK, stepAfter: (s) => s.counter % s.scenario.accumulation === 0 },
          ),
        ),
      ["counter-across-epochs", "tail-divided-by-k"],
    ],
    [
      "a first step after one micro-batch (i % K == 0 from 0)",
      () =>
        judge(
          simulateLoop(
            { datasetSize: 64, batchSize: 8, accumulation: 4, epochs: 2 },
            { scale: meanOverK, stepAfter: (s) => s.position % s.scenario.accumulation === 0 },
          ),
        ),
      ["first-step-early"],
    ],
    [
      "a last window stepped after every micro-batch",
      () =>
        judge(
          simulateLoop(
            { datasetSize: 110, batchSize: 8, accumulation: 4, epochs: 2 },
            {
              // K recomputed inside the tail: a step per micro-batch there, each its own mean.
              scale: (s) =>
                (s.position >= s.batches.length - (s.batches.length % s.scenario.accumulation)
                  ? 1
                  : 1 / s.scenario.accumulation) / s.unitsOf(s.batches[s.position] ?? []),
              stepAfter: (s) =>
                (s.position + 1) % s.scenario.accumulation === 0 ||
                s.position >= s.batches.length - (s.batches.length % s.scenario.accumulation),
            },
          ),
        ),
      ["tail-split"],
    ],
    [
      "a step budget that ends the run in its second epoch",
      () =>
        judge(
          simulateLoop(
            { datasetSize: 110, batchSize: 8, accumulation: 4, epochs: 2, model: "logistic" },
            { ...CORRECT, maxSteps: 5 },
          ),
        ),
      ["step-budget"],
    ],
    [
      "steps clipped to a global norm",
      () =>
        judge(
          simulateLoop(
            { datasetSize: 40, batchSize: 4, accumulation: 2, epochs: 2, model: "logistic" },
            { ...CORRECT, clipNorm: 0.05 },
          ),
        ),
      ["scaled-step"],
    ],
    [
      "a loss never divided",
      () =>
        judge(
          traceOf(
            { datasetSize: 2, batchSize: 1, accumulation: 2 },
            [
              [
                [0, 0, 1],
                [0, 1, 1],
              ],
            ],
            [0],
          ),
        ),
      ["loss-not-divided"],
    ],
    [
      "weights no common mistake explains",
      () =>
        judge(
          traceOf(
            { datasetSize: 3, batchSize: 1, accumulation: 3 },
            [
              [
                [0, 0, 0.3],
                [0, 1, 0.3],
                [0, 2, 0.1],
              ],
            ],
            [0],
          ),
        ),
      ["unexplained"],
    ],
    [
      "a sampler that pads a shard",
      () =>
        judge(
          simulateDataParallelTrace(
            { datasetSize: 11, batchSize: 2, accumulation: 3, worldSize: 2 },
            "ddp-tail-step",
          ),
        ),
      ["sampler-padding"],
    ],
    [
      "ranks that divide by their own sample count",
      () => perRankCounts({ datasetSize: 11, batchSize: 2, accumulation: 3, worldSize: 2 }),
      ["per-rank-count"],
    ],
  ] as const)("names the mistakes of %s", (_, check, mistakes) => {
    expect(mistakesOf(check())).toEqual(mistakes);
  });

  it("shows each mistake's evidence: the steps, windows and micro-batches", () => {
    const docs = adviceFor(
      judgeLoop({ datasetSize: 110, batchSize: 8, accumulation: 4, epochs: 2 }, "docs-loop"),
    );
    const tail = docs.find((a) => a.id === "tail-never-stepped");
    expect(tail?.evidence).toEqual([
      {
        epoch: 0,
        window: 3,
        microBatches: [12, 13],
        step: 3,
        shows:
          "window 4 of epoch 1 (micro-batches 13–14, 14 samples) never stepped in its epoch: step 4 applied it together with window 1 of epoch 2 (micro-batches 1–4, 32 samples)",
      },
      {
        epoch: 1,
        window: 3,
        microBatches: [12, 13],
        shows:
          "window 4 of epoch 2 (micro-batches 13–14, 14 samples) was fed, but no step came after it before the run ended",
      },
    ]);
    const divided = docs.find((a) => a.id === "tail-divided-by-k");
    expect(divided?.evidence[0]?.shows).toBe(
      "step 4 (micro-batches 13–14 of epoch 1 and 1–4 of epoch 2) gave 8 samples of epoch 1 (96–103) weight 1/32; their 14-sample window should give 1/14: each micro-batch's mean divided by K = 4",
    );
    const text = formatAdvice(docs).join("\n");
    expect(text).toContain(
      "      Evidence: window 4 of epoch 1 (micro-batches 13–14, 14 samples) never stepped",
    );
  });

  it("says when no known mistake explains a finding, and shows what the trace shows", () => {
    const [advice] = adviceFor(
      judge(
        traceOf(
          { datasetSize: 3, batchSize: 1, accumulation: 3 },
          [
            [
              [0, 0, 0.3],
              [0, 1, 0.3],
              [0, 2, 0.1],
            ],
          ],
          [0],
        ),
      ),
    );
    expect(advice?.id).toBe("unexplained");
    expect(advice?.cause).toMatch(/^No accumulation mistake accumaudit knows explains/);
    expect(advice?.evidence.map((e) => e.shows)).toEqual([
      "step 1 (micro-batches 1–3 of epoch 1) gave 1 sample of epoch 1 weight 1/10 where 1/3 was due (relative error 0.7), and no common loss scaling or single factor gives its weights",
    ]);
  });

  it("tells a body off by a lower precision's rounding from one off by more", () => {
    const off = (relative: number) => {
      const trace = simulateTrace({
        datasetSize: 8,
        batchSize: 2,
        accumulation: 2,
        model: "logistic",
      });
      for (const step of trace.steps)
        if (step.body)
          step.body.gradient = step.body.gradient.map(
            (g, i) => g * (1 + (i % 2 === 0 ? relative : -relative)),
          );
      return mistakesOf(judge(trace));
    };
    expect(off(0.01)).toEqual(["body-precision"]);
    expect(off(0.9)).toEqual(["unexplained"]);
  });

  it("names a skipped step whose window was not redone, a duplicate and drifting replicas", () => {
    const skipped = simulateTrace({ datasetSize: 4, batchSize: 2, accumulation: 1 });
    const first = skipped.steps[0];
    if (!first) throw new Error("expected a first step");
    skipped.steps[0] = {
      ...first,
      skipped: true,
      fingerprint: { epochs: [], samples: [], weights: [] },
    };
    expect(mistakesOf(judge(skipped))).toEqual(["skipped-step-lost"]);

    const twice = simulateTrace({ datasetSize: 4, batchSize: 2, accumulation: 1 });
    twice.steps[1]?.fingerprint.epochs.push(0);
    twice.steps[1]?.fingerprint.samples.push(0);
    twice.steps[1]?.fingerprint.weights.push(0.5);
    expect(mistakesOf(judge(twice))).toContain("applied-twice");

    const drift = simulateDataParallelTrace(
      { datasetSize: 8, batchSize: 2, accumulation: 2, worldSize: 2 },
      "ddp-reference",
    );
    const replicaStep = drift.replicas?.[0]?.steps[0];
    if (!replicaStep) throw new Error("expected rank 1's step");
    replicaStep.fingerprint.weights[0] = 1;
    expect(mistakesOf(judge(drift))).toEqual(["replicas-drift"]);
  });

  it("gives the cause, the change, a snippet in the trainer's language and the loop to copy", () => {
    const torch = judgeLoop({ datasetSize: 3, batchSize: 1, accumulation: 2 }, "tail-step");
    const [advice] = adviceFor(torch);
    expect(advice).toMatchObject({
      id: "tail-divided-by-k",
      snippet: { language: "python" },
      reference: "trainers/python/accumaudit_probe/loops/reference.py",
    });
    expect(advice?.snippet.code).toContain("optimizer.zero_grad()");
    const tfjs = judge(
      simulateTrace({ datasetSize: 3, batchSize: 1, accumulation: 2 }, "tail-step", {
        name: "tail-step",
        framework: "tensorflow.js",
      }),
    );
    expect(adviceFor(tfjs)[0]).toMatchObject({
      snippet: { language: "typescript" },
      reference: "trainers/tfjs/loops/reference.ts",
    });
    expect(
      adviceFor(judgeLoop({ datasetSize: 3, batchSize: 1, accumulation: 2 }, "reference")),
    ).toEqual([]);
  });

  it("names what a framework's own accumulation does, for the frameworks accumaudit has audited", () => {
    const scenario = { datasetSize: 3, batchSize: 1, accumulation: 2, epochs: 2 };
    const acrossEpochs = (trainer: Trace["trainer"]) =>
      judge({ ...simulateTrace(scenario, "docs-loop"), trainer });
    const ignite = adviceFor(
      acrossEpochs({
        name: "python:ignite",
        framework: "pytorch-ignite",
        frameworkVersion: "0.5.5",
      }),
    );
    expect(ignite.length).toBeGreaterThan(0);
    for (const advice of ignite) {
      expect(advice.framework?.name).toBe("pytorch-ignite 0.5.5");
      expect(advice.framework?.cause).toMatch(/create_supervised_trainer/);
    }
    expect(formatAdvice(ignite).join("\n")).toContain("In pytorch-ignite 0.5.5: ");
    const plain = adviceFor(acrossEpochs({ name: "python:docs-loop", framework: "pytorch" }));
    expect(plain.map((a) => a.id)).toEqual(ignite.map((a) => a.id));
    expect(plain.every((a) => a.framework === null)).toBe(true);
    expect(formatAdvice(plain).join("\n")).not.toContain("In pytorch");
    const lightning = adviceFor(
      judge({
        ...simulateTrace({ datasetSize: 3, batchSize: 1, accumulation: 2 }, "tail-step"),
        trainer: { name: "python:lightning", framework: "lightning", frameworkVersion: "2.6.6" },
      }),
    );
    expect(lightning.map((a) => [a.id, a.framework?.cause])).toEqual([
      ["tail-divided-by-k", expect.stringMatching(/accumulate_grad_batches=K\) divides/)],
    ]);
  });
});
