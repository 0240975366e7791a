import type { ExpectedWindow } from "../reference/epoch-plan.js";
import type { Expectation } from "../reference/expectation.js";
import { occurrenceIndex } from "../trainers/contract/probe.js";
import type { Trace } from "../trainers/contract/trace.js";
import type { AppliedWeights } from "./applied-weights.js";
import type { WindowingFinding, WindowingResult } from "./outcome.js";

/**
 * Micro-batches whose size is not B; each rank's last of an epoch may be smaller (not with
 * drop_last). A micro-batch short only by samples without loss tokens that no loader produced in
 * the epoch (a loop that leaves them out, as TRL's SFTTrainer does) is no failure: those samples
 * make up for the shortfall of the epoch's short micro-batches, as far as they go.
 */
function irregularMicroBatches(trace: Trace, expectation: Expectation): WindowingFinding[] {
  const { batchSize, dropLast } = trace.scenario;
  const irregular: WindowingFinding[] = [];
  for (const plan of expectation.plans) {
    if (plan.source !== "observed") continue;
    let leftOut = plan.emptyNotFed.length;
    plan.byRank.forEach((mbs, rank) => {
      mbs.forEach((mb, position) => {
        const last = position === mbs.length - 1;
        if (mb.length === batchSize) return;
        if (last && !dropLast && mb.length < batchSize && mb.length > 0) return;
        const short = batchSize - mb.length;
        if (mb.length > 0 && short > 0 && short <= leftOut) {
          leftOut -= short;
          return;
        }
        irregular.push({
          kind: "irregular-micro-batch",
          epoch: plan.epoch,
          rank,
          position,
          size: mb.length,
        });
      });
    });
  }
  return irregular;
}

/**
 * Finds whether some applied step's occurrences are exactly a window's: each of them once, and
 * nothing else. The window's occurrences are marked, then only the steps holding its first
 * occurrence are compared with the marks, in time linear in their sizes.
 */
class StepMatcher {
  /** inWindow[occurrence] === window stamp: the occurrence belongs to the window being matched. */
  private readonly inWindow: Int32Array;
  /** inStep[occurrence] === step stamp: the step being compared already held the occurrence. */
  private readonly inStep: Int32Array;
  private windowStamp = 0;
  private stepStamp = 0;

  constructor(
    private readonly applied: AppliedWeights,
    private readonly scenario: Trace["scenario"],
  ) {
    this.inWindow = new Int32Array(scenario.epochs * scenario.datasetSize);
    this.inStep = new Int32Array(scenario.epochs * scenario.datasetSize);
  }

  private index(epoch: number, sample: number): number {
    return occurrenceIndex(epoch, sample, this.scenario.epochs, this.scenario.datasetSize);
  }

  /** Whether an applied step holds exactly the occurrences of `samples` (distinct) in `epoch`. */
  matched(epoch: number, samples: readonly number[]): boolean {
    const first = samples[0];
    if (first === undefined) return false;
    const stamp = ++this.windowStamp;
    for (const s of samples) {
      const at = this.index(epoch, s);
      if (at < 0) return false; // an occurrence outside the scenario is in no step
      this.inWindow[at] = stamp;
    }
    const tried = new Set<number>();
    for (const { step } of this.applied.occurrence(epoch, first)) {
      if (tried.has(step)) continue;
      tried.add(step);
      if (this.stepHoldsExactly(step, samples.length, stamp)) return true;
    }
    return false;
  }

  private stepHoldsExactly(step: number, size: number, windowStamp: number): boolean {
    const entries = this.applied.byStep[step] ?? [];
    if (entries.length !== size) return false;
    const stamp = ++this.stepStamp;
    for (const e of entries) {
      const at = this.index(e.epoch, e.sample);
      if (at < 0 || this.inWindow[at] !== windowStamp || this.inStep[at] === stamp) return false;
      this.inStep[at] = stamp;
    }
    return true;
  }
}

/** Whether any applied step gave weight to one of the window's samples. */
function holdsAny(applied: AppliedWeights, window: ExpectedWindow): boolean {
  return window.samples.some((s) => applied.occurrenceCount(window.epoch, s) > 0);
}

/**
 * Windowing: one applied step per window, K micro-batches per window except the epoch's last,
 * which holds what is left. Each expected window must be exactly the occurrence set of one
 * applied step. The windows, and so the steps expected, come from the scenario: windows that no
 * loader produced (a run that stopped early) are expected too, and reported together.
 */
export function checkWindowing(
  trace: Trace,
  expectation: Expectation,
  applied: AppliedWeights,
): WindowingResult {
  const steps = new StepMatcher(applied, trace.scenario);
  const unmatched: WindowingFinding[] = [];
  let expectedSteps = 0;
  const weighted = (s: number) => (expectation.units[s] ?? 0) > 0;
  const unproduced: WindowingFinding[] = [];
  for (const plan of expectation.plans) {
    const never = plan.windows.filter((w) => w.unproduced > 0 && !holdsAny(applied, w));
    const [firstNever, lastNever] = [never[0], never[never.length - 1]];
    if (firstNever && lastNever)
      unproduced.push({
        kind: "unproduced-windows",
        epoch: plan.epoch,
        windows: [firstNever.index, lastNever.index],
        microBatches: plan.microBatches - plan.produced,
        producedMicroBatches: plan.produced,
        samples: never.reduce((n, w) => n + w.samples.filter(weighted).length, 0),
      });
    for (const window of plan.windows) {
      expectedSteps++;
      // A window without loss tokens is due a zero step: no fingerprint weight tells which it is.
      if (window.units === 0) continue;
      if (never.includes(window)) continue;
      if (steps.matched(window.epoch, window.samples.filter(weighted))) continue;
      const sharedBy = new Map<number, number>();
      for (const s of window.samples)
        for (const e of applied.occurrence(window.epoch, s))
          sharedBy.set(e.step, (sharedBy.get(e.step) ?? 0) + 1);
      let step: number | null = null;
      let sharedSamples = 0;
      for (const [candidate, shared] of sharedBy)
        if (shared > sharedSamples) [step, sharedSamples] = [candidate, shared];
      unmatched.push({
        kind: "unmatched-window",
        epoch: window.epoch,
        window: window.index,
        microBatches: window.microBatches,
        expectedSamples: window.samples.filter(weighted).length,
        step,
        stepEpoch: step === null ? null : (trace.steps[step]?.epoch ?? null),
        stepSamples: step === null ? 0 : (applied.byStep[step]?.length ?? 0),
        sharedSamples,
      });
    }
  }
  const appliedSteps = trace.steps.filter((s) => !s.skipped).length;
  const findings: WindowingFinding[] = [
    ...(appliedSteps === expectedSteps
      ? []
      : [{ kind: "step-count" as const, expected: expectedSteps, applied: appliedSteps }]),
    ...unproduced,
    ...unmatched,
    ...irregularMicroBatches(trace, expectation),
  ];
  return {
    ok: findings.length === 0,
    expectedSteps,
    appliedSteps,
    skippedSteps: trace.steps.length - appliedSteps,
    findings,
  };
}
