import { sampleBodyGradient } from "../../reference/body-gradient.js";
import { initialBodyParameters, lossUnits, makeDataset } from "../../trainers/contract/probe.js";
import { parseScenario, type ScenarioInput } from "../../trainers/contract/scenario.js";
import type { MicroBatch, Step, Trace } from "../../trainers/contract/trace.js";
import { drawnBatches } from "./loop-simulator.js";

/** Where a loop that draws with replacement stands at one micro-batch. */
export interface DrawState {
  /** The micro-batch's position in forward order. */
  position: number;
  /** Its draws (sample ids, repeats kept). */
  batch: readonly number[];
  /** Loss units of its draws: draws, or their loss tokens under token weighting. */
  units: number;
  /** Loss units of the K micro-batches of its window (position - position % K onward). */
  windowUnits: number;
  k: number;
}

/** A nanoGPT-shaped loop's rules: what one loss unit of a micro-batch weighs, and when it steps. */
export interface DrawLoopRules {
  scale: (state: DrawState) => number;
  stepAfter: (state: DrawState) => boolean;
  /** Clears the gradient after every step (default true); false: it leaks into the next step. */
  zeroGrad?: boolean;
  /** The micro-batches it draws (default: {@link drawnBatches}, steps x K of B draws). */
  batches?: number[][];
}

/**
 * Runs a loop that draws with replacement in float64 SGD and records its trace (every forward
 * pass, every step's weights and body gradient). Evidence for the real oracle; no verdict here.
 */
export function simulateDrawLoop(input: ScenarioInput, rules: DrawLoopRules): Trace {
  const s = parseScenario(input);
  const data = makeDataset(s);
  const units = lossUnits(s);
  const batches = rules.batches ?? drawnBatches(s);
  const unitsOf = (batch: readonly number[]) => batch.reduce((n, i) => n + (units[i] ?? 0), 0);
  let params = initialBodyParameters(s);
  let weights = new Map<number, number>();
  let body = params.map(() => 0);
  const steps: Step[] = [];
  const microBatches: MicroBatch[] = [];
  batches.forEach((batch, position) => {
    const first = position - (position % s.accumulation);
    const windowUnits = batches
      .slice(first, first + s.accumulation)
      .reduce((n, b) => n + unitsOf(b), 0);
    const state = { position, batch, units: unitsOf(batch), windowUnits, k: s.accumulation };
    microBatches.push({ epoch: 0, samples: [...batch], stepsBefore: steps.length, rank: 0 });
    const scale = rules.scale(state);
    for (const i of batch) {
      const w = scale * (units[i] ?? 0);
      weights.set(i, (weights.get(i) ?? 0) + w);
      if (s.model !== "fingerprint") {
        const g = sampleBodyGradient(s.model, params, data, i);
        body = body.map((v, j) => v + w * (g[j] ?? 0));
      }
    }
    if (!rules.stepAfter(state)) return;
    const entries = [...weights.entries()].sort((a, b) => a[0] - b[0]);
    steps.push({
      epoch: 0,
      skipped: false,
      fingerprint: {
        epochs: entries.map(() => 0),
        samples: entries.map(([i]) => i),
        weights: entries.map(([, w]) => w),
      },
      body: s.model === "fingerprint" ? null : { parametersBefore: params, gradient: body },
    });
    params = params.map((p, j) => p - s.learningRate * (body[j] ?? 0));
    if (rules.zeroGrad ?? true) {
      weights = new Map();
      body = params.map(() => 0);
    }
  });
  return {
    format: "accumaudit-trace",
    version: 2,
    trainer: { name: "simulated-draw-loop" },
    scenario: s,
    steps,
    microBatches,
  };
}

/** nanoGPT's loop: each micro-batch's mean loss (over its loss units) / K, a step every K micro-batches. */
export const NANOGPT: DrawLoopRules = {
  scale: (state) => (state.units > 0 ? 1 / (state.k * state.units) : 0),
  stepAfter: (state) => (state.position + 1) % state.k === 0,
};

/** The correct loop: every loss unit of a window weighs 1 / (the window's units). */
export const DRAW_REFERENCE: DrawLoopRules = {
  scale: (state) => (state.windowUnits > 0 ? 1 / state.windowUnits : 0),
  stepAfter: (state) => (state.position + 1) % state.k === 0,
};
