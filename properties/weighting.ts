import { distance, type WindowGradient, windowBodyGradient } from "../reference/body-gradient.js";
import { clipFactor } from "../reference/clip.js";
import type { ExpectedWindow } from "../reference/epoch-plan.js";
import { type Expectation, windowHolding } from "../reference/expectation.js";
import type { Dataset } from "../trainers/contract/probe.js";
import type { Trace } from "../trainers/contract/trace.js";
import type { AppliedWeights } from "./applied-weights.js";
import type {
  AppliedEntry,
  LossScaling,
  MicroBatchRef,
  WeightGroup,
  WeightingFinding,
  WeightingResult,
  WorstWeight,
} from "./outcome.js";
import { sampleSet } from "./sample-set.js";
import { type StepWindow, windowRef } from "./step-windows.js";
import type { Tolerance } from "./tolerance.js";

/** Weighting with per-step figures, for reports. */
export interface WeightingCheck {
  result: WeightingResult;
  /** Largest weight relative error per step (0 for a step with no weights). */
  stepWeightError: number[];
  /** Largest applied weight over the smallest, minus 1, per step (0 for equal weights or none). */
  stepWeightSpread: number[];
  /** Body relative error per step; null without a body, for skipped steps, or unmatched ones. */
  stepBodyError: Array<number | null>;
  /** The common factor of every weight over its due weight, per step (see StepAnalysis.weightFactor). */
  stepWeightFactor: Array<number | null>;
  /** The factor of the body gradient over the oracle's, per step (see StepAnalysis.bodyFactor). */
  stepBodyFactor: Array<number | null>;
  /** Whether each step weighted what it holds as one batch (see StepAnalysis.ownBatch). */
  stepOwnBatch: boolean[];
  /** The clip factor each step's due gradient was scaled by (1 without clipping). */
  stepClip: number[];
}

/** What an occurrence is due from a step's point of view: its window, units and expected weight. */
interface Due {
  window: ExpectedWindow | null;
  /** The sample's loss units (1, or its loss tokens). */
  units: number;
  /** The window's loss units; 0 without a window. */
  windowUnits: number;
  /** clip x units / windowUnits; 0 without a window or without units. */
  expected: number;
  /** The factor clipping to the scenario's norm scales the window's gradient by (1 without clipping). */
  clip: number;
}

/**
 * |w - e| / e with e = clip x units / units(W), computed as |w - e| * units(W) / (clip x units)
 * (so that it is |w - 1/|W|| * |W| exactly under sample weighting without clipping); infinite
 * where no weight was due (no window, or a sample without loss tokens).
 */
function relativeWeightError(weight: number, due: Due): number {
  if (!Number.isFinite(weight)) return Number.POSITIVE_INFINITY;
  if (due.expected === 0) return Math.abs(weight) > 0 ? Number.POSITIVE_INFINITY : 0;
  return (Math.abs(weight - due.expected) * due.windowUnits) / (due.clip * due.units);
}

/**
 * What occurrence (epoch, sample) is due, in the window `preferred` when it holds the sample;
 * `clip` scales it when that window is the step's.
 */
function dueFor(
  expectation: Expectation,
  epoch: number,
  sample: number,
  preferred: StepWindow["window"] | undefined,
  clip = 1,
): Due {
  const window = windowHolding(expectation, epoch, sample, preferred);
  const units = expectation.units[sample] ?? 0;
  const windowUnits = window?.units ?? 0;
  const factor = window && window === preferred ? clip : 1;
  return {
    window,
    units,
    windowUnits,
    expected: windowUnits > 0 ? (factor * units) / windowUnits : 0,
    clip: factor,
  };
}

/** How much larger the largest weight is than the smallest (0 when equal; infinite when one is not positive). */
export function weightSpread(entries: readonly AppliedEntry[]): number {
  if (entries.length < 2) return 0;
  let min = Number.POSITIVE_INFINITY;
  let max = Number.NEGATIVE_INFINITY;
  for (const { weight } of entries) {
    if (!Number.isFinite(weight)) return Number.POSITIVE_INFINITY;
    min = Math.min(min, weight);
    max = Math.max(max, weight);
  }
  if (max === min) return 0;
  return min > 0 ? max / min - 1 : Number.POSITIVE_INFINITY;
}

/** A step's body gradient against the oracle's: the relative error, and the factor that explains it, if one does. */
interface BodyComparison {
  error: number | null;
  factor: number | null;
}

/** The float64 oracle's body gradient of each step's matched window (null without a body, when skipped or unmatched). */
function expectedBodies(
  trace: Trace,
  dataset: Dataset,
  matches: StepWindow[],
  units: readonly number[],
): Array<WindowGradient | "non-finite" | null> {
  const model = trace.scenario.model;
  if (model === "fingerprint") return trace.steps.map(() => null);
  return trace.steps.map((step, index) => {
    const window = matches[index]?.window;
    if (step.skipped || !step.body || !window) return null;
    const params = step.body.parametersBefore;
    if (!params.every(Number.isFinite)) return "non-finite";
    return windowBodyGradient(model, params, dataset, window.samples, units);
  });
}

/**
 * The factor clipping scales each step's due gradient by: min(1, C / ‖g‖) of its matched window's
 * full-batch gradient (every fingerprint weight and the body), 1 without clipping or a window.
 */
function clipFactors(
  trace: Trace,
  expectation: Expectation,
  matches: StepWindow[],
  bodies: ReadonlyArray<WindowGradient | "non-finite" | null>,
): number[] {
  const clipNorm = trace.scenario.clipNorm;
  return trace.steps.map((step, index) => {
    const window = matches[index]?.window;
    if (clipNorm === undefined || step.skipped || !window || window.units === 0) return 1;
    const body = bodies[index];
    const weights = window.samples.map((s) => (expectation.units[s] ?? 0) / window.units);
    return clipFactor(clipNorm, weights, body && body !== "non-finite" ? body.gradient : null);
  });
}

function compareBodies(
  trace: Trace,
  bodies: ReadonlyArray<WindowGradient | "non-finite" | null>,
  clips: readonly number[],
  tolerance: number,
): BodyComparison[] {
  const none = { error: null, factor: null };
  return trace.steps.map((step, index) => {
    const expected = bodies[index];
    if (!step.body || !expected) return none;
    const applied = step.body.gradient;
    if (expected === "non-finite" || !applied.every(Number.isFinite))
      return { error: Number.POSITIVE_INFINITY, factor: null };
    const clip = clips[index] ?? 1;
    const due = clip === 1 ? expected.gradient : expected.gradient.map((g) => g * clip);
    const scale = (expected.meanSampleNorm > 0 ? expected.meanSampleNorm : 1) * clip;
    const error = distance(applied, due) / scale;
    return { error, factor: bodyFactor(applied, due, scale, tolerance) };
  });
}

/** The c that makes `applied` = c x `expected` within `tolerance` (relative to `scale`), if one does. */
export function bodyFactor(
  applied: readonly number[],
  expected: readonly number[],
  scale: number,
  tolerance: number,
): number | null {
  let dot = 0;
  let norm = 0;
  expected.forEach((e, i) => {
    dot += e * (applied[i] ?? 0);
    norm += e * e;
  });
  if (norm === 0) return null;
  const c = dot / norm;
  const residual = distance(
    applied,
    expected.map((e) => c * e),
  );
  return residual / scale <= tolerance ? c : null;
}

/**
 * Whether a step gave each occurrence units_i / (the units of every occurrence it applied): the
 * mean over what it holds, as if that were its window.
 */
function weighsOwnBatch(
  entries: readonly AppliedEntry[],
  units: readonly number[],
  tolerance: number,
): boolean {
  let total = 0;
  for (const e of entries) total += units[e.sample] ?? 0;
  if (total === 0) return false;
  return entries.every((e) => {
    const own = (units[e.sample] ?? 0) / total;
    return own > 0 && Math.abs(e.weight - own) <= tolerance * own;
  });
}

/**
 * The one factor c with every weight of a step = c x its due weight within the tolerance, if one
 * does (1 for a right step, null for none: no entries, or a weight where none was due).
 */
function weightFactor(
  entries: readonly AppliedEntry[],
  dues: readonly Due[],
  tolerance: number,
): number | null {
  let min = Number.POSITIVE_INFINITY;
  let max = Number.NEGATIVE_INFINITY;
  for (let k = 0; k < entries.length; k++) {
    const expected = dues[k]?.expected ?? 0;
    const weight = entries[k]?.weight ?? Number.NaN;
    if (expected === 0 || !Number.isFinite(weight)) return null;
    const ratio = weight / expected;
    min = Math.min(min, ratio);
    max = Math.max(max, ratio);
  }
  if (!Number.isFinite(min)) return null;
  const c = (min + max) / 2;
  return max - min <= 2 * tolerance * Math.abs(c) ? c : null;
}

/**
 * The weight each loss scaling gives one occurrence (see {@link LossScaling}). Where a window
 * holds K micro-batches the first two agree: the per-micro-batch mean is then the mistake.
 */
const SCALINGS: Array<
  [LossScaling, (k: number, w: number, b: number, m: number, r: number) => number]
> = [
  ["micro-batch-mean", (_k, w, b, m) => 1 / (w * m * b)],
  ["divided-by-k", (k, w, b) => 1 / (w * k * b)],
  ["not-divided", (_k, w, b) => 1 / (w * b)],
  ["per-rank-count", (_k, w, _b, _m, r) => (w > 1 ? 1 / (w * r) : Number.NaN)],
  ["summed", (_k, w) => 1 / w],
];

/**
 * The loss scaling that gives every weight of a step within the tolerance, if one does; `clip`
 * scales each prediction as clipping the step's gradient once would.
 */
function lossScaling(
  entries: readonly AppliedEntry[],
  expectation: Expectation,
  scenario: Trace["scenario"],
  tolerance: number,
  clip = 1,
): LossScaling | null {
  if (entries.length === 0) return null;
  for (const [name, weight] of SCALINGS) {
    const fits = entries.every((e) => {
      const b = expectation.microBatchUnits[e.epoch]?.[e.sample] ?? 0;
      const m = expectation.windowMicroBatches[e.epoch]?.[e.sample] ?? 0;
      const r = expectation.rankWindowUnits[e.epoch]?.[e.sample] ?? 0;
      const units = expectation.units[e.sample] ?? 0;
      if (b === 0 || m === 0 || r === 0) return false;
      const predicted = clip * units * weight(scenario.accumulation, scenario.worldSize, b, m, r);
      return Math.abs(e.weight - predicted) <= tolerance * predicted;
    });
    if (fits) return name;
  }
  return null;
}

/**
 * A step's entries grouped by epoch tag and expected weight, then into runs of weights within
 * the tolerance of each other, so that a group is "these samples got this weight".
 */
function weightGroups(
  entries: readonly AppliedEntry[],
  expectation: Expectation,
  matched: StepWindow["window"] | undefined,
  tolerance: number,
  clip = 1,
): WeightGroup[] {
  const buckets = new Map<string, Array<{ entry: AppliedEntry; expected: number; due: Due }>>();
  for (const entry of entries) {
    const due = dueFor(expectation, entry.epoch, entry.sample, matched, clip);
    const key = `${entry.epoch}|${due.expected}`;
    const bucket = buckets.get(key) ?? [];
    bucket.push({ entry, expected: due.expected, due });
    buckets.set(key, bucket);
  }
  const groups: WeightGroup[] = [];
  for (const bucket of buckets.values()) {
    const finite = bucket.filter((b) => Number.isFinite(b.entry.weight));
    finite.sort((a, b) => a.entry.weight - b.entry.weight);
    let run: typeof bucket = [];
    const close = () => {
      const first = run[0];
      if (!first) return;
      groups.push({
        epoch: first.entry.epoch,
        samples: sampleSet(run.map((r) => r.entry.sample)),
        weight: run.reduce((sum, r) => sum + r.entry.weight, 0) / run.length,
        expected: first.expected,
        clip: first.due.clip,
        relError: Math.max(...run.map((r) => relativeWeightError(r.entry.weight, r.due))),
      });
      run = [];
    };
    for (const item of finite) {
      const start = run[0]?.entry.weight;
      const scale = item.expected > 0 ? item.expected : Math.abs(start ?? item.entry.weight);
      if (start !== undefined && item.entry.weight - start > tolerance * scale) close();
      run.push(item);
    }
    close();
    const nonFinite = new Map<string, typeof bucket>();
    for (const item of bucket.filter((b) => !Number.isFinite(b.entry.weight)))
      nonFinite.set(String(item.entry.weight), [
        ...(nonFinite.get(String(item.entry.weight)) ?? []),
        item,
      ]);
    for (const items of nonFinite.values()) {
      run = items;
      close();
    }
  }
  return groups.sort(
    (a, b) =>
      a.epoch - b.epoch || (a.samples.ranges[0]?.[0] ?? 0) - (b.samples.ranges[0]?.[0] ?? 0),
  );
}

/** The micro-batches of an expected window on every rank, with their samples and loss units. */
function windowMicroBatches(expectation: Expectation, window: ExpectedWindow): MicroBatchRef[] {
  const [first, last] = window.microBatches;
  const refs: MicroBatchRef[] = [];
  expectation.plans[window.epoch]?.byRank.forEach((mbs, rank) => {
    mbs.slice(first, last + 1).forEach((mb, offset) => {
      const units = mb.reduce((total, s) => total + (expectation.units[s] ?? 0), 0);
      refs.push({ rank, position: first + offset, samples: mb.length, units });
    });
  });
  return refs;
}

/**
 * Weighting: each applied step must equal the full-batch gradient of its window, weighted by
 * sample count or by loss-token count as the scenario says. Every occurrence's fingerprint weight
 * is compared with units_i / units(W) (1/|W| under sample weighting); the body gradient is
 * compared with the float64 oracle at the parameters before the step.
 */
export function checkWeighting(
  trace: Trace,
  expectation: Expectation,
  applied: AppliedWeights,
  matches: StepWindow[],
  dataset: Dataset,
  tolerance: Tolerance,
): WeightingCheck {
  let worst: WorstWeight | null = null;
  const expected = expectedBodies(trace, dataset, matches, expectation.units);
  const clips = clipFactors(trace, expectation, matches, expected);
  const stepWeightFactor: Array<number | null> = [];
  const stepWeightError = applied.byStep.map((entries, step) => {
    let stepMax = 0;
    const dues: Due[] = [];
    for (const e of entries) {
      const due = dueFor(expectation, e.epoch, e.sample, matches[step]?.window, clips[step]);
      dues.push(due);
      const { window, expected: expectedWeight } = due;
      const windowSize = window?.samples.length ?? 0;
      const relError = relativeWeightError(e.weight, due);
      stepMax = Math.max(stepMax, relError);
      if (!worst || relError > worst.relError || Number.isNaN(e.weight))
        worst = {
          epoch: e.epoch,
          sample: e.sample,
          step: e.step,
          stepEpoch: trace.steps[e.step]?.epoch ?? -1,
          weight: e.weight,
          expectedWeight,
          windowSize,
          units: due.units,
          windowUnits: due.windowUnits,
          relError,
        };
    }
    stepWeightFactor.push(
      stepMax <= tolerance.weight ? 1 : weightFactor(entries, dues, tolerance.weight),
    );
    return stepMax;
  });
  const stepWeightSpread = applied.byStep.map(weightSpread);
  const bodies = compareBodies(trace, expected, clips, tolerance.body);
  const stepBodyError = bodies.map((b) => b.error);
  const findings: WeightingFinding[] = [];
  trace.steps.forEach((step, index) => {
    const relError = stepWeightError[index] ?? 0;
    if (relError > tolerance.weight) {
      const window = matches[index]?.window;
      findings.push({
        kind: "step-weights",
        step: index,
        epoch: step.epoch,
        window: window ? windowRef(window) : null,
        microBatches: window ? windowMicroBatches(expectation, window) : [],
        relError,
        spread: stepWeightSpread[index] ?? 0,
        groups: weightGroups(
          applied.byStep[index] ?? [],
          expectation,
          matches[index]?.window,
          tolerance.weight,
          clips[index],
        ),
        explainedBy: lossScaling(
          applied.byStep[index] ?? [],
          expectation,
          trace.scenario,
          tolerance.weight,
          clips[index],
        ),
      });
    }
    const body = stepBodyError[index];
    if (body !== null && body !== undefined && !(body <= tolerance.body))
      findings.push({ kind: "body-gradient", step: index, epoch: step.epoch, relError: body });
  });
  const maxRelError = stepWeightError.reduce((a, b) => Math.max(a, b), 0);
  const bodyValues = stepBodyError.filter((x): x is number => x !== null);
  const bodyMaxRelError =
    trace.scenario.model === "fingerprint" ? null : bodyValues.reduce((a, b) => Math.max(a, b), 0);
  const bodyWorstStep = bodyMaxRelError === null ? null : stepBodyError.indexOf(bodyMaxRelError);
  return {
    result: {
      ok: findings.length === 0,
      maxRelError,
      tolerance: tolerance.weight,
      detectableRelError: tolerance.weight,
      worst,
      bodyMaxRelError,
      bodyTolerance: tolerance.body,
      bodyWorstStep,
      weightedSteps: applied.byStep.filter((entries) => entries.length > 0).length,
      findings,
    },
    stepWeightError,
    stepWeightSpread,
    stepBodyError,
    stepWeightFactor,
    stepBodyFactor: bodies.map((b) => b.factor),
    stepClip: clips,
    stepOwnBatch: applied.byStep.map((entries) =>
      weighsOwnBatch(entries, expectation.units, tolerance.weight),
    ),
  };
}
