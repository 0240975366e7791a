import { sampleBodyGradient } from "../../reference/body-gradient.js";
import { initialBodyParameters, makeDataset } from "../../trainers/contract/probe.js";
import {
  microBatchesPerEpoch,
  parseScenario,
  type Scenario,
  type ScenarioInput,
} from "../../trainers/contract/scenario.js";
import type { MicroBatch, Step, Trace, TrainerInfo } from "../../trainers/contract/trace.js";
import type { Trainer } from "../../trainers/contract/trainer.js";

/**
 * The accumulation loops of the mission, as an idealised float64 trainer runs them:
 * - reference: loss summed over the window's samples, divided by their number; every window steps;
 * - docs-loop: loss / K per micro-batch, a step only when (i+1) % K == 0, so the tail leaks;
 * - tail-step: the docs-loop plus a step after the epoch's last micro-batch, still / K;
 * - two-loop: a per-micro-batch mean divided by the micro-batches in the window.
 */
export type SimulatedLoop = "reference" | "docs-loop" | "tail-step" | "two-loop";

/** Micro-batches of one epoch in loader order: index order, or a seeded shuffle (a loader's, not the oracle's). */
function epochMicroBatches(s: Scenario, epoch: number): number[][] {
  const order = Array.from({ length: s.datasetSize }, (_, i) => i);
  if (s.shuffle !== false) {
    let state = (s.shuffle + epoch * 0x9e3779b1) >>> 0;
    const next = () => {
      state = (state + 0x6d2b79f5) >>> 0;
      let t = state;
      t = Math.imul(t ^ (t >>> 15), t | 1);
      t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
      return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    };
    for (let i = order.length - 1; i > 0; i--) {
      const j = Math.floor(next() * (i + 1));
      [order[i], order[j]] = [order[j] as number, order[i] as number];
    }
  }
  return Array.from({ length: microBatchesPerEpoch(s) }, (_, p) =>
    order.slice(p * s.batchSize, (p + 1) * s.batchSize),
  );
}

/** The weight a loop gives each sample of a micro-batch, and whether it steps after it. */
function loopRule(
  loop: SimulatedLoop,
  batches: number[][],
  position: number,
  k: number,
): { scale: number; step: boolean } {
  const batch = batches[position] ?? [];
  const windowStart = position - (position % k);
  const window = batches.slice(windowStart, windowStart + k);
  const windowEnd = (position + 1) % k === 0 || position === batches.length - 1;
  switch (loop) {
    case "reference":
      return { scale: 1 / window.reduce((n, b) => n + b.length, 0), step: windowEnd };
    case "docs-loop":
      return { scale: 1 / (batch.length * k), step: (position + 1) % k === 0 };
    case "tail-step":
      return { scale: 1 / (batch.length * k), step: windowEnd };
    case "two-loop":
      return { scale: 1 / (batch.length * window.length), step: windowEnd };
  }
}

/**
 * Runs one of the mission's loops on a scenario in float64 and records its trace: every forward
 * pass, every step's fingerprint weights and, with a body, its gradient and the parameters
 * before the step (plain SGD). The trace is evidence for the real oracle to judge; nothing here
 * decides a verdict.
 */
export function simulateTrace(
  input: ScenarioInput,
  loop: SimulatedLoop = "reference",
  trainer: TrainerInfo = { name: loop },
): Trace {
  const s = parseScenario(input);
  const data = makeDataset(s);
  const model = s.model;
  let params = initialBodyParameters(s);
  const steps: Step[] = [];
  const microBatches: MicroBatch[] = [];
  let weights = new Map<number, number>();
  let body = params.map(() => 0);
  const step = (epoch: number) => {
    const entries = [...weights.entries()].sort((a, b) => a[0] - b[0]);
    steps.push({
      epoch,
      skipped: false,
      fingerprint: {
        epochs: entries.map(([key]) => Math.floor(key / s.datasetSize)),
        samples: entries.map(([key]) => key % s.datasetSize),
        weights: entries.map(([, w]) => w),
      },
      body: model === "fingerprint" ? null : { parametersBefore: params, gradient: body },
    });
    params = params.map((p, j) => p - s.learningRate * (body[j] ?? 0));
    weights = new Map();
    body = params.map(() => 0);
  };
  for (let epoch = 0; epoch < s.epochs; epoch++) {
    const batches = epochMicroBatches(s, epoch);
    batches.forEach((batch, position) => {
      microBatches.push({ epoch, samples: batch, stepsBefore: steps.length });
      const { scale, step: stepsAfter } = loopRule(loop, batches, position, s.accumulation);
      for (const i of batch) {
        const key = epoch * s.datasetSize + i;
        weights.set(key, (weights.get(key) ?? 0) + scale);
        if (model !== "fingerprint") {
          const g = sampleBodyGradient(model, params, data.features[i] ?? [], data.labels[i] ?? 0);
          body = body.map((v, j) => v + scale * (g[j] ?? 0));
        }
      }
      if (stepsAfter) step(epoch);
    });
  }
  return { format: "accumaudit-trace", version: 1, trainer, scenario: s, steps, microBatches };
}

/** A trainer that runs a simulated loop: fast, in process, with the framework facts given. */
export function simulatedTrainer(
  name: string,
  loop: SimulatedLoop,
  info: Omit<TrainerInfo, "name"> = {},
): Trainer {
  return {
    name,
    description: `simulated ${loop} for tests`,
    run: async (scenario) => simulateTrace(scenario, loop, { name, ...info }),
  };
}
