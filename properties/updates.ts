import { FINGERPRINT_COEFFICIENT, occurrenceIndex } from "../trainers/contract/probe.js";
import type { Scenario } from "../trainers/contract/scenario.js";
import type { OutsideChange, Step, StepUpdate, Trace } from "../trainers/contract/trace.js";
import type { UpdateFinding, WeightingResult } from "./outcome.js";
import { scheduleApplies } from "./outcome.js";

/** The largest relative error of one rounding to each precision (its unit roundoff). */
const UNIT_ROUNDOFF: Record<Scenario["precision"], number> = {
  fp32: 2 ** -24,
  fp16: 2 ** -11,
  bf16: 2 ** -8,
};

/**
 * Roundings one entry's change may carry, with room to spare: lr·g rounded to the parameters'
 * type, θ − lr·g rounded, the learning rate itself rounded, and one more.
 */
const ROUNDINGS = 4;

/** One parameter entry of a step: its change θ − θ', its gradient and its value before the step. */
interface Entry {
  change: number;
  gradient: number;
  before: number;
}

/** The most an entry's change may differ from `expected` by rounding alone. */
function roundingAllowance(entry: Entry, expected: number, unit: number): number {
  return (
    ROUNDINGS *
    unit *
    (Math.abs(entry.before) + Math.abs(entry.before - entry.change) + Math.abs(expected))
  );
}

/** A step's entries: the fingerprint entries its gradient lists (values from `phi`), then the body. */
function stepEntries(
  step: Step,
  update: StepUpdate,
  phi: Float64Array,
  scenario: Scenario,
): Entry[] {
  const { epochs, datasetSize } = scenario;
  const f = step.fingerprint;
  const entries: Entry[] = f.weights.map((weight, k) => ({
    change: update.fingerprint[k] ?? Number.NaN,
    gradient: weight * FINGERPRINT_COEFFICIENT,
    before: phi[occurrenceIndex(f.epochs[k] ?? 0, f.samples[k] ?? 0, epochs, datasetSize)] ?? 0,
  }));
  const body = step.body;
  if (body && update.body)
    body.gradient.forEach((gradient, j) => {
      entries.push({
        change: update.body?.[j] ?? Number.NaN,
        gradient,
        before: body.parametersBefore[j] ?? 0,
      });
    });
  return entries;
}

/** The c with `change` = c x `expected` entry by entry within rounding, if one does (null for none). */
function fittedFactor(
  entries: readonly Entry[],
  expected: (entry: Entry) => number,
  unit: number,
): number | null {
  let dot = 0;
  let norm = 0;
  for (const e of entries) {
    dot += e.change * expected(e);
    norm += expected(e) ** 2;
  }
  if (!(norm > 0)) return null;
  const c = dot / norm;
  const fits = entries.every(
    (e) => Math.abs(e.change - c * expected(e)) <= roundingAllowance(e, c * expected(e), unit),
  );
  return fits ? c : null;
}

/** What one applied step's update shows against its gradient, or null when it applied it as due. */
function judgeStep(
  step: Step,
  update: StepUpdate,
  entries: readonly Entry[],
  where: { rank: number; step: number; epoch: number },
  unit: number,
  rateMayBeZero: boolean,
): UpdateFinding | null {
  const finite = entries.every((e) => Number.isFinite(e.change) && Number.isFinite(e.gradient));
  if (!finite || !entries.some((e) => e.gradient !== 0)) return null;
  const lr = update.learningRate;
  // Under a schedule a rate of 0 moves nothing by right (warm-up starts there): the schedule property judges it.
  if (!entries.some((e) => e.change !== 0))
    return lr === 0 && rateMayBeZero
      ? null
      : { kind: "update-missing", ...where, learningRate: lr ?? null };
  if (update.rule !== "sgd" || lr === undefined || step.skipped) return null;
  const expected = (e: Entry) => lr * e.gradient;
  const exact = entries.every(
    (e) => Math.abs(e.change - expected(e)) <= roundingAllowance(e, expected(e), unit),
  );
  if (exact && update.movedWithoutGradient === 0) return null;
  let largest = 0;
  let off = 0;
  for (const e of entries) {
    largest = Math.max(largest, Math.abs(expected(e)));
    off = Math.max(off, Math.abs(e.change - expected(e)));
  }
  return {
    kind: "update-factor",
    ...where,
    learningRate: lr,
    factor: exact ? 1 : fittedFactor(entries, expected, unit),
    relError: largest > 0 ? off / largest : Number.POSITIVE_INFINITY,
    movedWithoutGradient: update.movedWithoutGradient,
  };
}

/**
 * The factor c with `change` = c x the update of `previous` (its lr·g), when the change is one
 * multiple of it and touches nothing else: that step's gradient applied again outside the step.
 */
function repeatOf(
  change: OutsideChange,
  previous: Step,
  phi: Float64Array,
  scenario: Scenario,
  unit: number,
): number | null {
  const lr = previous.update?.learningRate;
  if (previous.skipped || !previous.update || lr === undefined || lr === 0) return null;
  const { epochs, datasetSize } = scenario;
  const changed = new Map<number, number>();
  change.fingerprint.changes.forEach((value, k) => {
    const at = occurrenceIndex(
      change.fingerprint.epochs[k] ?? 0,
      change.fingerprint.samples[k] ?? 0,
      epochs,
      datasetSize,
    );
    changed.set(at, value);
  });
  const entries: Entry[] = [];
  const f = previous.fingerprint;
  f.weights.forEach((weight, k) => {
    const at = occurrenceIndex(f.epochs[k] ?? 0, f.samples[k] ?? 0, epochs, datasetSize);
    entries.push({
      change: changed.get(at) ?? 0,
      gradient: weight * FINGERPRINT_COEFFICIENT,
      before: phi[at] ?? 0,
    });
    changed.delete(at);
  });
  if ([...changed.values()].some((value) => value !== 0)) return null;
  const body = previous.body;
  const bodyChange = change.body;
  if (body)
    body.gradient.forEach((gradient, j) => {
      const before = (body.parametersBefore[j] ?? 0) - (previous.update?.body?.[j] ?? 0);
      entries.push({ change: bodyChange?.[j] ?? 0, gradient, before });
    });
  else if (bodyChange?.some((value) => value !== 0)) return null;
  if (!entries.every((e) => Number.isFinite(e.change) && Number.isFinite(e.gradient))) return null;
  const factor = fittedFactor(entries, (e) => lr * e.gradient, unit);
  return factor !== null && Math.abs(factor) > 1e-3 ? factor : null;
}

/** What a change outside the steps shows: how much changed, and whether it repeats a step's update. */
function judgeOutside(
  change: OutsideChange,
  steps: readonly Step[],
  phi: Float64Array,
  rank: number,
  scenario: Scenario,
  unit: number,
): UpdateFinding {
  const fingerprint = change.fingerprint.changes.filter((c) => c !== 0);
  const body = (change.body ?? []).filter((c) => c !== 0);
  const largest = [...fingerprint, ...body].reduce((m, c) => Math.max(m, Math.abs(c)), 0);
  const at = change.stepsBefore;
  const previous = at > 0 && change.since === at ? steps[at - 1] : undefined;
  const factor = previous ? repeatOf(change, previous, phi, scenario, unit) : null;
  return {
    kind: "outside-step",
    rank,
    since: change.since,
    stepsBefore: change.stepsBefore,
    stepCalls: steps.length,
    fingerprintEntries: fingerprint.length,
    bodyEntries: body.length,
    largest,
    repeats: previous && factor !== null ? { step: at - 1, epoch: previous.epoch, factor } : null,
  };
}

/** Subtracts a change (θ − θ') from the fingerprint values at its entries. */
function applyChange(
  phi: Float64Array,
  f: { epochs: readonly number[]; samples: readonly number[] },
  changes: readonly number[],
  scenario: Scenario,
): void {
  changes.forEach((change, k) => {
    const at = occurrenceIndex(
      f.epochs[k] ?? 0,
      f.samples[k] ?? 0,
      scenario.epochs,
      scenario.datasetSize,
    );
    if (at >= 0) phi[at] = (phi[at] ?? 0) - change;
  });
}

/** One rank's update findings, its steps and outside changes replayed in order over its fingerprint values. */
function checkRank(
  rank: number,
  steps: readonly Step[],
  outside: readonly OutsideChange[],
  scenario: Scenario,
  unit: number,
): UpdateFinding[] {
  // The fingerprint starts at 0; every recorded change moves it, so its values before each step are known.
  const phi = new Float64Array(scenario.epochs * scenario.datasetSize);
  const findings: UpdateFinding[] = [];
  let next = 0;
  const seenBefore = (calls: number) => {
    for (; next < outside.length && (outside[next]?.stepsBefore ?? 0) <= calls; next++) {
      const change = outside[next] as OutsideChange;
      findings.push(judgeOutside(change, steps, phi, rank, scenario, unit));
      applyChange(phi, change.fingerprint, change.fingerprint.changes, scenario);
    }
  };
  steps.forEach((step, index) => {
    seenBefore(index);
    const update = step.update;
    if (step.skipped || !update) return;
    const entries = stepEntries(step, update, phi, scenario);
    const where = { rank, step: index, epoch: step.epoch };
    const finding = judgeStep(step, update, entries, where, unit, scheduleApplies(scenario));
    if (finding) findings.push(finding);
    applyChange(phi, step.fingerprint, update.fingerprint, scenario);
  });
  seenBefore(Number.POSITIVE_INFINITY);
  return findings;
}

/**
 * Whether every step applied what its gradient says, on every rank (the trace's `update` and
 * `outsideSteps`): a step whose gradient is not zero must move some parameter; a plain-SGD step
 * must move each entry by exactly lr·g (θ' = θ − lr·g), to the rounding of the precision that ran
 * (`precision`), and no entry it has no gradient for; and nothing may change the parameters
 * outside the steps. Steps without an `update` (traces that do not record it) are not judged.
 */
export function checkUpdates(trace: Trace, precision: Scenario["precision"]): UpdateFinding[] {
  const unit = UNIT_ROUNDOFF[precision];
  const outside = (rank: number) =>
    (trace.outsideSteps ?? []).filter((c) => (c.rank ?? 0) === rank);
  return [
    ...checkRank(0, trace.steps, outside(0), trace.scenario, unit),
    ...(trace.replicas ?? []).flatMap((replica) =>
      checkRank(replica.rank, replica.steps, outside(replica.rank), trace.scenario, unit),
    ),
  ];
}

/**
 * The weighting result with the update findings among its findings (after the weights' and the
 * body's): a step that did not apply its gradient as weighted, or a change outside the steps,
 * fails weighting, since what reached the parameters is not the gradient the weights show.
 */
export function withUpdateFindings(
  result: WeightingResult,
  findings: readonly UpdateFinding[],
): WeightingResult {
  if (findings.length === 0) return result;
  return { ...result, ok: false, findings: [...result.findings, ...findings] };
}
