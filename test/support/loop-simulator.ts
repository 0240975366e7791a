import { lossUnits } from "../../trainers/contract/probe.js";
import {
  microBatchesPerEpoch,
  parseScenario,
  type Scenario,
  type ScenarioInput,
} from "../../trainers/contract/scenario.js";
import type { MicroBatch, Trace, TrainerInfo } from "../../trainers/contract/trace.js";
import { epochOrder, sgdSteps } from "./simulated-trace.js";

/** Where a loop stands when it decides a micro-batch's scale and whether to step. */
export interface LoopState {
  scenario: Scenario;
  epoch: number;
  /** The micro-batch's position in its epoch. */
  position: number;
  /** Micro-batches fed since the run started, this one included (a counter that never resets). */
  counter: number;
  /** The epoch's micro-batches, in loader order. */
  batches: readonly number[][];
  /** Loss units of a micro-batch: its samples, or its loss tokens under token weighting. */
  unitsOf: (batch: readonly number[]) => number;
}

/** A single-process accumulation loop, written as the rules it follows. */
export interface LoopRules {
  /** Weight per loss unit of every sample of the micro-batch (e.g. 1 / (K x its units)). */
  scale: (state: LoopState) => number;
  /** Whether the loop steps right after this micro-batch. */
  stepAfter: (state: LoopState) => boolean;
  /** Steps once more after the epoch's last micro-batch when something has accumulated. */
  flushAtEpochEnd?: boolean;
  /** Clears the accumulated gradient at every epoch start. */
  clearAtEpochStart?: boolean;
  /** Stops the run once this many steps were taken. */
  maxSteps?: number;
  /** Clips every step to this global L2 norm (fingerprint and body together). */
  clipNorm?: number;
  /** The epoch's micro-batches (default: the scenario's loader, B samples each, its order). */
  batches?: (scenario: Scenario, epoch: number) => number[][];
  /**
   * The epoch tag the model carries at a step taken after micro-batch `position` (default: the
   * epoch): a loop that fetches the next micro-batch first tags the last step of an epoch with
   * the next epoch.
   */
  stepTag?: (state: LoopState) => number;
}

/** The scenario's loader: B samples per micro-batch, the epoch's order, drop_last honoured. */
export function loaderBatches(s: Scenario, epoch: number): number[][] {
  const order = epochOrder(s, epoch);
  return Array.from({ length: microBatchesPerEpoch(s) }, (_, p) =>
    order.slice(p * s.batchSize, (p + 1) * s.batchSize),
  );
}

/**
 * Runs a loop given as rules on a scenario in float64 SGD and records its trace (every forward
 * pass, every step's weights and body gradient). The trace is evidence for the real oracle;
 * nothing here decides a verdict.
 */
export function simulateLoop(
  input: ScenarioInput,
  rules: LoopRules,
  trainer: TrainerInfo = { name: "simulated-loop" },
): Trace {
  const s = parseScenario(input);
  const { steps, add, step, clear, pending } = sgdSteps(s, rules.clipNorm);
  const units = lossUnits(s);
  const unitsOf = (batch: readonly number[]) => batch.reduce((n, i) => n + (units[i] ?? 0), 0);
  const microBatches: MicroBatch[] = [];
  const budgetLeft = () => rules.maxSteps === undefined || steps.length < rules.maxSteps;
  let counter = 0;
  run: for (let epoch = 0; epoch < s.epochs; epoch++) {
    if (rules.clearAtEpochStart) clear();
    const batches = (rules.batches ?? loaderBatches)(s, epoch);
    for (let position = 0; position < batches.length; position++) {
      const batch = batches[position] ?? [];
      counter++;
      const state: LoopState = { scenario: s, epoch, position, counter, batches, unitsOf };
      microBatches.push({ epoch, samples: batch, stepsBefore: steps.length });
      const scale = rules.scale(state);
      for (const i of batch) add(epoch, i, scale * (units[i] ?? 0));
      if (rules.stepAfter(state)) {
        step(rules.stepTag?.(state) ?? epoch);
        if (!budgetLeft()) break run;
      }
    }
    if (rules.flushAtEpochEnd && pending()) {
      step(epoch);
      if (!budgetLeft()) break;
    }
  }
  return { format: "accumaudit-trace", version: 1, trainer, scenario: s, steps, microBatches };
}

/** The window of K micro-batches (the epoch's last holding the rest) that holds a position. */
export function windowOf(state: LoopState): readonly number[][] {
  const k = state.scenario.accumulation;
  const start = state.position - (state.position % k);
  return state.batches.slice(start, start + k);
}

/** Whether a position ends its window: K micro-batches in, or the epoch's last. */
export function endsWindow(state: LoopState): boolean {
  const k = state.scenario.accumulation;
  return (state.position + 1) % k === 0 || state.position === state.batches.length - 1;
}

/** Rules of a correct loop: every sample of a window weighs 1 / (the window's loss units). */
export const CORRECT: LoopRules = {
  scale: (state) => {
    const total = windowOf(state).reduce((n, b) => n + state.unitsOf(b), 0);
    return total > 0 ? 1 / total : 0;
  },
  stepAfter: endsWindow,
};

/**
 * A run that draws with replacement, as nanoGPT-style loops draw `torch.randint(N, (B,))`: steps x K
 * micro-batches of B sample ids from a seeded generator (the loop's, not the oracle's). For
 * {@link LoopRules.batches} under `sampling: "replacement"`.
 */
export function drawnBatches(s: Scenario, seed = s.dataSeed): number[][] {
  let state = (seed ^ 0x2545f491) >>> 0;
  const next = () => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return state / 4294967296;
  };
  const count = (s.steps ?? 0) * s.accumulation;
  return Array.from({ length: count }, () =>
    Array.from({ length: s.batchSize }, () => Math.floor(next() * s.datasetSize)),
  );
}
