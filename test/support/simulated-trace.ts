import { sampleBodyGradient } from "../../reference/body-gradient.js";
import { initialBodyParameters, lossUnits, makeDataset } from "../../trainers/contract/probe.js";
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

/** One epoch's sample order: index order, or a seeded shuffle (a loader's, not the oracle's). */
export function epochOrder(s: Scenario, epoch: number): number[] {
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
  return order;
}

/** Micro-batches of one epoch in loader order (one process). */
function epochMicroBatches(s: Scenario, epoch: number): number[][] {
  const order = epochOrder(s, epoch);
  return Array.from({ length: microBatchesPerEpoch(s) }, (_, p) =>
    order.slice(p * s.batchSize, (p + 1) * s.batchSize),
  );
}

/**
 * The weight a loop gives each loss unit (a sample, or a loss token under token weighting) of a
 * micro-batch, and whether it steps after it; a micro-batch mean is over its loss units.
 */
function loopRule(
  loop: SimulatedLoop,
  batches: number[][],
  position: number,
  k: number,
  units: readonly number[],
): { scale: number; step: boolean } {
  const unitsOf = (batch: readonly number[]) => batch.reduce((n, i) => n + (units[i] ?? 0), 0);
  const batch = unitsOf(batches[position] ?? []);
  const windowStart = position - (position % k);
  const window = batches.slice(windowStart, windowStart + k);
  const windowEnd = (position + 1) % k === 0 || position === batches.length - 1;
  const per = (n: number) => (n > 0 ? 1 / n : 0);
  switch (loop) {
    case "reference":
      return { scale: per(window.reduce((n, b) => n + unitsOf(b), 0)), step: windowEnd };
    case "docs-loop":
      return { scale: per(batch * k), step: (position + 1) % k === 0 };
    case "tail-step":
      return { scale: per(batch * k), step: windowEnd };
    case "two-loop":
      return { scale: per(batch * window.length), step: windowEnd };
  }
}

/**
 * A float64 SGD run's steps as a loop builds them: `add` accumulates a sample's weight (and its
 * body gradient at the current parameters), `step` records the accumulated step and applies it
 * (clipped first to global L2 norm `clipNorm` over the fingerprint and body gradient, when
 * given), `clear` drops what has accumulated, `pending` says whether anything has.
 */
export function sgdSteps(
  s: Scenario,
  clipNorm?: number,
): {
  steps: Step[];
  add: (epoch: number, sample: number, scale: number) => void;
  step: (epoch: number) => void;
  clear: () => void;
  pending: () => boolean;
} {
  const data = makeDataset(s);
  let params = initialBodyParameters(s);
  const steps: Step[] = [];
  let weights = new Map<number, number>();
  let body = params.map(() => 0);
  const add = (epoch: number, sample: number, scale: number) => {
    if (scale === 0) return;
    const key = epoch * s.datasetSize + sample;
    weights.set(key, (weights.get(key) ?? 0) + scale);
    if (s.model === "fingerprint") return;
    const g = sampleBodyGradient(s.model, params, data, sample);
    body = body.map((v, j) => v + scale * (g[j] ?? 0));
  };
  const step = (epoch: number) => {
    let entries = [...weights.entries()].sort((a, b) => a[0] - b[0]);
    if (clipNorm !== undefined) {
      const squares = [...entries.map(([, w]) => w), ...body].reduce((t, v) => t + v * v, 0);
      const factor = Math.min(1, clipNorm / Math.sqrt(squares));
      entries = entries.map(([key, w]) => [key, w * factor]);
      body = body.map((v) => v * factor);
    }
    steps.push({
      epoch,
      skipped: false,
      fingerprint: {
        epochs: entries.map(([key]) => Math.floor(key / s.datasetSize)),
        samples: entries.map(([key]) => key % s.datasetSize),
        weights: entries.map(([, weight]) => weight),
      },
      body: s.model === "fingerprint" ? null : { parametersBefore: params, gradient: body },
    });
    params = params.map((p, j) => p - s.learningRate * (body[j] ?? 0));
    weights = new Map();
    body = params.map(() => 0);
  };
  const clear = () => {
    weights = new Map();
    body = params.map(() => 0);
  };
  return { steps, add, step, clear, pending: () => weights.size > 0 };
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
  if (s.worldSize > 1)
    throw new Error(`simulateTrace: world size ${s.worldSize}: use simulateDataParallelTrace`);
  const { steps, add, step } = sgdSteps(s);
  const units = lossUnits(s);
  const microBatches: MicroBatch[] = [];
  for (let epoch = 0; epoch < s.epochs; epoch++) {
    const batches = epochMicroBatches(s, epoch);
    batches.forEach((batch, position) => {
      microBatches.push({ epoch, samples: batch, stepsBefore: steps.length });
      const rule = loopRule(loop, batches, position, s.accumulation, units);
      const { scale, step: stepsAfter } = rule;
      for (const i of batch) add(epoch, i, scale * (units[i] ?? 0));
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

/**
 * Data-parallel loops as W ranks run them, in float64, DDP averaging the ranks' gradients at each
 * step (every rank applies the same step):
 * - ddp-reference: shards without padding; loss summed over the global window's samples and
 *   scaled so the step applies their mean; every window steps;
 * - ddp-docs-loop: DistributedSampler shards (the last padded with repeated samples), loss / K per
 *   micro-batch, a step when (i+1) % K == 0 on each rank's count, so the tail leaks;
 * - ddp-tail-step: the same, and a step after each rank's last micro-batch, still / K.
 */
export type DataParallelLoop = "ddp-reference" | "ddp-docs-loop" | "ddp-tail-step";

/** Rank r's shard of an epoch's order: positions r, r + W, ...; padded first to a multiple of W. */
function shard(order: readonly number[], rank: number, worldSize: number, pad: boolean): number[] {
  const padded = pad
    ? [...order, ...order.slice(0, (worldSize - (order.length % worldSize)) % worldSize)]
    : order;
  return padded.filter((_, position) => position % worldSize === rank);
}

function rankMicroBatches(s: Scenario, shardOrder: readonly number[]): number[][] {
  const batches: number[][] = [];
  for (let start = 0; start < shardOrder.length; start += s.batchSize) {
    const batch = shardOrder.slice(start, start + s.batchSize);
    if (s.dropLast && batch.length < s.batchSize) break;
    batches.push(batch);
  }
  return batches;
}

/** A data-parallel loop's trace at the scenario's world size: rank 0's steps, replicas and every rank's forward passes. */
export function simulateDataParallelTrace(
  input: ScenarioInput,
  loop: DataParallelLoop,
  trainer: TrainerInfo = { name: loop },
): Trace {
  const s = parseScenario(input);
  const w = s.worldSize;
  const { steps, add, step } = sgdSteps(s);
  const units = lossUnits(s);
  const unitsOf = (batch: readonly number[]) => batch.reduce((n, i) => n + (units[i] ?? 0), 0);
  const passes: MicroBatch[][] = Array.from({ length: w }, () => []);
  const k = s.accumulation;
  for (let epoch = 0; epoch < s.epochs; epoch++) {
    const order = epochOrder(s, epoch);
    const byRank = Array.from({ length: w }, (_, r) =>
      rankMicroBatches(s, shard(order, r, w, loop !== "ddp-reference")),
    );
    const longest = Math.max(...byRank.map((mbs) => mbs.length));
    for (let position = 0; position < longest; position++) {
      const windowStart = position - (position % k);
      const windowUnits = byRank.reduce(
        (n, mbs) => n + unitsOf(mbs.slice(windowStart, windowStart + k).flat()),
        0,
      );
      byRank.forEach((mbs, rank) => {
        const batch = mbs[position];
        if (!batch) return;
        passes[rank]?.push({ epoch, samples: batch, stepsBefore: steps.length, rank });
        const perUnit = loop === "ddp-reference" ? 1 / windowUnits : 1 / (w * unitsOf(batch) * k);
        for (const sample of batch) {
          const u = units[sample] ?? 0;
          if (u > 0) add(epoch, sample, perUnit * u);
        }
      });
      const windowEnd = (position + 1) % k === 0 || position === longest - 1;
      if (loop === "ddp-docs-loop" ? (position + 1) % k === 0 : windowEnd) step(epoch);
    }
  }
  return {
    format: "accumaudit-trace",
    version: 2,
    trainer,
    scenario: s,
    steps,
    replicas: Array.from({ length: w - 1 }, (_, r) => ({
      rank: r + 1,
      steps: structuredClone(steps),
    })),
    microBatches: passes.flat(),
  };
}
