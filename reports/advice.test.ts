import { describe, expect, it } from "vitest";
import { judge, judgeLoop } from "../test/support/outcomes.js";
import { simulateDataParallelTrace, simulateTrace } from "../test/support/simulated-trace.js";
import { parseScenario } from "../trainers/contract/scenario.js";
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

describe("advice", () => {
  it.each([
    [
      "docs-loop that never steps",
      () => judgeLoop({ datasetSize: 1, batchSize: 1, accumulation: 2 }, "docs-loop"),
      ["no-step", "tail-never-stepped"],
    ],
    [
      "docs-loop's leaked and lost tail",
      () => judgeLoop({ datasetSize: 110, batchSize: 8, accumulation: 4, epochs: 2 }, "docs-loop"),
      ["tail-never-stepped", "tail-divided-by-k"],
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
      ["window-spans-epochs", "tail-divided-by-k"],
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
            { datasetSize: 2, batchSize: 1, accumulation: 2 },
            [
              [
                [0, 0, 0.3],
                [0, 1, 0.3],
              ],
            ],
            [0],
          ),
        ),
      ["weights-off"],
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
  ] as const)("names the mistakes of %s", (_, check, mistakes) => {
    expect(mistakesOf(check())).toEqual(mistakes);
  });

  it("names a skipped step whose window was not redone, a duplicate, drifting replicas and an off body", () => {
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

    const body = simulateTrace({
      datasetSize: 4,
      batchSize: 2,
      accumulation: 2,
      model: "logistic",
    });
    const gradient = body.steps[0]?.body?.gradient;
    if (!gradient) throw new Error("expected a body gradient");
    gradient[0] = (gradient[0] ?? 0) + 1;
    expect(mistakesOf(judge(body))).toEqual(["body-off"]);
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
