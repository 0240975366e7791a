import { distance, windowBodyGradient } from "../reference/body-gradient.js";
import {
  type DrawPlan,
  type DrawWindow,
  drawSites,
  drawsOf,
  dueWeight,
} from "../reference/draw-plan.js";
import type { Dataset } from "../trainers/contract/probe.js";
import type { Trace } from "../trainers/contract/trace.js";
import type { AppliedWeights } from "./applied-weights.js";
import type { DrawAttribution } from "./draw-attribution.js";
import type {
  AppliedEntry,
  LossScaling,
  MicroBatchRef,
  WeightGroup,
  WeightingFinding,
  WindowRef,
  WorstWeight,
} from "./outcome.js";
import { sampleSet } from "./sample-set.js";
import type { Tolerance } from "./tolerance.js";
import { bodyFactor, type WeightingCheck, weightSpread } from "./weighting.js";

/**
 * What one applied weight is due: the windows whose draws it stands for (the first named), the
 * units of those draws and the weight they are due, summed over the windows.
 */
interface DrawDue {
  window: DrawWindow | null;
  windows: readonly DrawWindow[];
  /** Its draws' units: draws x units_i over the windows. */
  units: number;
  expected: number;
}

function relativeError(weight: number, due: DrawDue): number {
  if (!Number.isFinite(weight)) return Number.POSITIVE_INFINITY;
  if (due.expected === 0) return Math.abs(weight) > 0 ? Number.POSITIVE_INFINITY : 0;
  return Math.abs(weight - due.expected) / due.expected;
}

/** The window as findings name it: its draws are its size. */
export function drawWindowRef(window: DrawWindow): WindowRef {
  return { epoch: 0, index: window.index, size: window.draws.length, units: window.units };
}

/** The micro-batches of a window, with their draws and loss units. */
function windowMicroBatches(plan: DrawPlan, window: DrawWindow): MicroBatchRef[] {
  const first = window.microBatches[0];
  return plan.microBatches.slice(first, first + window.drawn).map((mb, offset) => ({
    rank: 0,
    position: first + offset,
    samples: mb.samples.length,
    units: mb.samples.reduce((n, s) => n + (plan.units[s] ?? 0), 0),
  }));
}

/** Per-draw weights of the loss scalings that common loops use (see {@link LossScaling}; one rank). */
const SCALINGS: Array<[LossScaling, (k: number, b: number, m: number) => number]> = [
  ["micro-batch-mean", (_k, b, m) => 1 / (m * b)],
  ["divided-by-k", (k, b) => 1 / (k * b)],
  ["not-divided", (_k, b) => 1 / b],
];

/** The loss scaling that gives every weight of a step, summed over the draws each stands for. */
function lossScaling(
  plan: DrawPlan,
  entries: readonly AppliedEntry[],
  dues: readonly DrawDue[],
  k: number,
  tolerance: number,
): LossScaling | null {
  const unitsOf = (position: number) =>
    (plan.microBatches[position]?.samples ?? []).reduce((n, s) => n + (plan.units[s] ?? 0), 0);
  for (const [name, perDraw] of SCALINGS) {
    const fits = entries.every((e, index) => {
      let predicted = 0;
      for (const window of dues[index]?.windows ?? [])
        for (const site of drawSites(plan, e.sample, window.index))
          predicted +=
            (plan.units[e.sample] ?? 0) * perDraw(k, unitsOf(site.position), window.drawn);
      return predicted > 0 && Math.abs(e.weight - predicted) <= tolerance * predicted;
    });
    if (fits) return name;
  }
  return null;
}

/** A step's weights grouped by expected weight, then into runs within the tolerance of each other. */
function weightGroups(
  entries: readonly AppliedEntry[],
  dues: readonly DrawDue[],
  tolerance: number,
): WeightGroup[] {
  const buckets = new Map<number, Array<{ entry: AppliedEntry; due: DrawDue }>>();
  entries.forEach((entry, index) => {
    const due = dues[index] as DrawDue;
    buckets.set(due.expected, [...(buckets.get(due.expected) ?? []), { entry, due }]);
  });
  const groups: WeightGroup[] = [];
  for (const [expected, bucket] of buckets) {
    const key = (w: number) => (Number.isFinite(w) ? w : Number.POSITIVE_INFINITY);
    bucket.sort((a, b) => key(a.entry.weight) - key(b.entry.weight));
    let run: typeof bucket = [];
    const close = () => {
      if (run.length === 0) return;
      groups.push({
        epoch: 0,
        samples: sampleSet(run.map((r) => r.entry.sample)),
        weight: run.reduce((sum, r) => sum + r.entry.weight, 0) / run.length,
        expected,
        clip: 1,
        relError: Math.max(...run.map((r) => relativeError(r.entry.weight, r.due))),
      });
      run = [];
    };
    for (const item of bucket) {
      const start = run[0]?.entry.weight;
      const scale = expected > 0 ? expected : Math.abs(start ?? item.entry.weight);
      if (
        start !== undefined &&
        (!Number.isFinite(item.entry.weight) || !(item.entry.weight - start <= tolerance * scale))
      )
        close();
      run.push(item);
    }
    close();
  }
  return groups.sort((a, b) => (a.samples.ranges[0]?.[0] ?? 0) - (b.samples.ranges[0]?.[0] ?? 0));
}

/**
 * Weighting of a run that draws with replacement: each applied weight against what its window's
 * draws are due, (draws of i) x units_i / (units of every draw of the window); each applied
 * step's body gradient against the float64 oracle over its due window's draws, a sample drawn
 * twice counted twice.
 */
export function checkDrawWeighting(
  trace: Trace,
  plan: DrawPlan,
  applied: AppliedWeights,
  attribution: DrawAttribution,
  dataset: Dataset,
  tolerance: Tolerance,
): WeightingCheck {
  const { scenario } = trace;
  let worst: WorstWeight | null = null;
  const stepWeightFactor: Array<number | null> = [];
  const stepDues = applied.byStep.map((entries, step) =>
    entries.map((e, k): DrawDue => {
      const windows = attribution.windowsOfEntry[step]?.[k] ?? [];
      let [units, expected] = [0, 0];
      for (const w of windows) {
        units += drawsOf(w, e.sample) * (plan.units[e.sample] ?? 0);
        expected += dueWeight(plan, w, e.sample);
      }
      return { window: windows[0] ?? null, windows, units, expected };
    }),
  );
  const stepWeightError = applied.byStep.map((entries, step) => {
    const dues = stepDues[step] ?? [];
    let stepMax = 0;
    let low = Number.POSITIVE_INFINITY;
    let high = Number.NEGATIVE_INFINITY;
    entries.forEach((e, k) => {
      const due = dues[k] as DrawDue;
      const relError = relativeError(e.weight, due);
      stepMax = Math.max(stepMax, relError);
      const ratio = due.expected > 0 ? e.weight / due.expected : Number.NaN;
      low = Math.min(low, ratio);
      high = Math.max(high, ratio);
      if (!worst || relError > worst.relError || Number.isNaN(e.weight))
        worst = {
          epoch: 0,
          sample: e.sample,
          step,
          stepEpoch: 0,
          weight: e.weight,
          expectedWeight: due.expected,
          windowSize: due.window?.draws.length ?? 0,
          units: due.units,
          windowUnits: due.window?.units ?? 0,
          relError,
        };
    });
    const c = (low + high) / 2;
    const oneFactor = Number.isFinite(c) && high - low <= 2 * tolerance.weight * Math.abs(c);
    stepWeightFactor.push(stepMax <= tolerance.weight ? 1 : oneFactor ? c : null);
    return stepMax;
  });
  const bodies = trace.steps.map((step, index) => {
    const window = attribution.dueWindow[index];
    if (
      scenario.model === "fingerprint" ||
      step.skipped ||
      !step.body ||
      !window ||
      window.drawn === 0
    )
      return { error: null, factor: null };
    const { parametersBefore: params, gradient } = step.body;
    if (![...params, ...gradient].every(Number.isFinite))
      return { error: Number.POSITIVE_INFINITY, factor: null };
    const expected = windowBodyGradient(scenario.model, params, dataset, window.draws, plan.units);
    const scale = expected.meanSampleNorm > 0 ? expected.meanSampleNorm : 1;
    return {
      error: distance(gradient, expected.gradient) / scale,
      factor: bodyFactor(gradient, expected.gradient, scale, tolerance.body),
    };
  });
  const stepBodyError = bodies.map((b) => b.error);
  const stepWeightSpread = applied.byStep.map(weightSpread);
  const findings: WeightingFinding[] = [];
  trace.steps.forEach((_step, index) => {
    const relError = stepWeightError[index] ?? 0;
    const entries = applied.byStep[index] ?? [];
    const dues = stepDues[index] ?? [];
    if (relError > tolerance.weight) {
      const window = attribution.dueWindow[index] ?? null;
      findings.push({
        kind: "step-weights",
        step: index,
        epoch: 0,
        window: window ? drawWindowRef(window) : null,
        microBatches: window ? windowMicroBatches(plan, window) : [],
        relError,
        spread: stepWeightSpread[index] ?? 0,
        groups: weightGroups(entries, dues, tolerance.weight),
        explainedBy: lossScaling(plan, entries, dues, scenario.accumulation, tolerance.weight),
      });
    }
    const body = stepBodyError[index];
    if (body !== null && body !== undefined && !(body <= tolerance.body))
      findings.push({ kind: "body-gradient", step: index, epoch: 0, relError: body });
  });
  const bodyValues = stepBodyError.filter((x): x is number => x !== null);
  const bodyMaxRelError =
    scenario.model === "fingerprint" ? null : bodyValues.reduce((a, b) => Math.max(a, b), 0);
  return {
    result: {
      ok: findings.length === 0,
      maxRelError: stepWeightError.reduce((a, b) => Math.max(a, b), 0),
      tolerance: tolerance.weight,
      detectableRelError: tolerance.weight,
      worst,
      bodyMaxRelError,
      bodyTolerance: tolerance.body,
      bodyWorstStep: bodyMaxRelError === null ? null : stepBodyError.indexOf(bodyMaxRelError),
      weightedSteps: applied.byStep.filter((entries) => entries.length > 0).length,
      findings,
    },
    stepWeightError,
    stepWeightSpread,
    stepBodyError,
    stepWeightFactor,
    stepBodyFactor: bodies.map((b) => b.factor),
    stepOwnBatch: applied.byStep.map(() => false),
    stepClip: applied.byStep.map(() => 1),
  };
}
