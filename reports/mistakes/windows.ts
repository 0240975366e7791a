import type { StepAnalysis, WindowOutline } from "../../properties/outcome.js";
import { findingsOf } from "../sentences/coverage.js";
import { windowingFindings } from "../sentences/windowing.js";
import { nth, plural, positionRange, wasWere } from "../words.js";
import type { Evidence, Mistake } from "./catalogue.js";
import { microBatchesOf, type RunReading, stepWord, windowWords } from "./reading.js";

/** Every epoch's count of an occurrence kind, as claims: [epoch, count]. */
function allOf(r: RunReading, kind: "lost" | "leaked"): Array<[number, number]> {
  return r.check.properties.coverage.epochs.map((e) => [e.epoch, e[kind]]);
}

/** Every window of the given epochs, as claims. */
function windowsOf(r: RunReading, epochs: readonly number[]): Array<[number, number]> {
  return epochs.flatMap((e) => r.windows(e).map((w): [number, number] => [e, w.index]));
}

const range = (from: number, to: number) =>
  Array.from({ length: Math.max(0, to - from) }, (_, i) => from + i);

/**
 * No step applied anything and no step was skipped: the loop never called `step()`. When every
 * epoch has fewer micro-batches than K, a loop that steps after K of them never gets there.
 */
export function noStep(r: RunReading): Mistake | null {
  const w = r.check.properties.windowing;
  if (w.appliedSteps > 0 || w.skippedSteps > 0 || w.expectedSteps === 0) return null;
  const produced = r.check.plan.map((p) => p.produced);
  const same = produced.every((p) => p === produced[0]);
  const fed = same
    ? `${plural(produced[0] ?? 0, "micro-batch", "micro-batches")} in ${r.epochs === 1 ? "the epoch" : `each of ${r.epochs} epochs`}`
    : `${plural(
        produced.reduce((a, b) => a + b, 0),
        "micro-batch",
        "micro-batches",
      )} over ${plural(r.epochs, "epoch")}`;
  const evidence: Evidence[] = [
    {
      shows: `the loop fed ${fed} and no optimizer step ran (step() was never called, or never reached the optimizer): no sample was applied`,
    },
  ];
  if (r.k > 1 && produced.every((p) => p < r.k))
    evidence.push({
      shows: `every epoch has fewer micro-batches than K = ${r.k}: a step that waits for K of them never comes`,
    });
  return {
    id: "no-step",
    evidence,
    explains: {
      lost: allOf(r, "lost"),
      windows: windowsOf(r, range(0, r.epochs)),
      stepCount: true,
    },
  };
}

/**
 * An epoch's first step applied its first micro-batch alone and the next step starts at the
 * second: the loop steps when `i % K == 0`, counting from 0.
 */
export function firstStepEarly(r: RunReading): Mistake | null {
  if (r.k < 2 || !startsEarly(r, 0)) return null;
  const evidence: Evidence[] = [];
  const epochs: number[] = [];
  for (let e = 0; e < r.epochs; e++) {
    if (!startsEarly(r, e)) continue;
    const at = r.applied.findIndex((s) => r.partsOf(s, e).length > 0);
    const step = r.applied[at] as StepAnalysis;
    const next = r.applied[at + 1] as StepAnalysis;
    const [c, d] = r.span(next, e);
    epochs.push(e);
    evidence.push({
      step: step.step,
      epoch: e,
      window: 0,
      microBatches: [0, 0],
      shows: `${stepWord(step.step)} applied ${microBatchesOf([0, 0], e)} alone, and ${stepWord(next.step)} ${microBatchesOf([c, d], e)}: the first step comes after one micro-batch, each later one after K = ${r.k}`,
    });
  }
  if (evidence.length === 0) return null;
  const steps = r.applied.filter((s) => epochs.some((e) => r.partsOf(s, e).length > 0));
  return {
    id: "first-step-early",
    evidence,
    explains: {
      steps: steps.map((s) => s.step),
      windows: windowsOf(r, epochs),
      lost: epochs.map((e) => [e, r.check.properties.coverage.epochs[e]?.lost ?? 0]),
      leaked: epochs.map((e) => [e, r.check.properties.coverage.epochs[e]?.leaked ?? 0]),
      stepCount: true,
    },
  };
}

/**
 * Whether an epoch's first step took its first micro-batch alone (its window holding more) and
 * the next step starts at the second. Only epoch 0's proves the pattern: in a later epoch a step
 * counter running across epochs can look the same.
 */
export function startsEarly(r: RunReading, epoch: number): boolean {
  const first = r.windows(epoch)[0];
  if (!first || first.microBatches[1] === first.microBatches[0]) return false;
  const at = r.applied.findIndex((s) => r.partsOf(s, epoch).length > 0);
  const step = r.applied[at];
  const next = r.applied[at + 1];
  if (!step || !next) return false;
  const [a, b] = r.span(step, epoch);
  const [c, d] = r.span(next, epoch);
  // The next step holds the K micro-batches after the first (fewer when the epoch ends first).
  const last = Math.min(r.k, r.produced(epoch) - 1);
  return a === 0 && b === 0 && c === 1 && d === last && r.microBatchCount(next, epoch) === last;
}

/** Whether a step holds samples of an epoch after `epoch`. */
const holdsLater = (s: StepAnalysis, epoch: number) => s.parts.some((p) => p.epoch > epoch);

/**
 * Epochs whose only window that no loader produced is their last, shorter one, while a later
 * epoch was fed (or every epoch shows it): the loop leaves each epoch after its full windows, as
 * one that counts len(loader) // K steps per epoch does.
 */
export function tailsUnfed(r: RunReading): number[] {
  const never = windowingFindings(r.check.properties.windowing, "unproduced-windows");
  const onlyLast = never.filter((f) => {
    const windows = r.windows(f.epoch);
    const last = windows[windows.length - 1];
    return (
      last !== undefined &&
      last.samples > 0 &&
      f.windows[0] === last.index &&
      f.windows[1] === last.index &&
      last.unproduced === last.microBatches[1] - last.microBatches[0] + 1
    );
  });
  const fedLater = (epoch: number) => r.check.plan.some((p) => p.epoch > epoch && p.produced > 0);
  if (onlyLast.length === 0 || !onlyLast.some((f) => fedLater(f.epoch))) return [];
  return onlyLast.map((f) => f.epoch);
}

/**
 * The epoch's last window never stepped in its epoch: no step applied it (the run ended, or its
 * gradient was gone before the next step), the next epoch's first step applied it together with
 * that epoch's whole first window, or the loop never fed it (see {@link tailsUnfed}).
 */
export function tailNeverStepped(r: RunReading, lastEpochAside = false): Mistake | null {
  const evidence: Evidence[] = [];
  const steps: number[] = [];
  const windowsClaimed: Array<[number, number]> = [];
  const lost: Array<[number, number]> = [];
  const leaked: Array<[number, number]> = [];
  const skippedLoss = findingsOf(r.check.properties.coverage, "lost").some(
    (f) => f.skippedStep !== null,
  );
  const unfed = tailsUnfed(r);
  for (const e of unfed) {
    const windows = r.windows(e);
    const last = windows[windows.length - 1] as WindowOutline;
    evidence.push({
      epoch: e,
      window: last.index,
      microBatches: last.microBatches,
      shows: `${windowWords(e, last)} was never fed: the loop left epoch ${nth(e)} after ${plural(r.produced(e), "micro-batch", "micro-batches")}, its full windows`,
    });
    windowsClaimed.push([e, last.index]);
    lost.push([e, last.samples]);
  }
  for (let e = 0; e < r.epochs; e++) {
    if (lastEpochAside && e === r.epochs - 1) continue;
    const last = r.lastProducedWindow(e);
    if (!last) continue;
    const holders = r.holders(e, last.index);
    const where = { epoch: e, window: last.index, microBatches: last.microBatches };
    if (holders.length === 0 && !skippedLoss) {
      const after =
        e === r.epochs - 1
          ? "no step came after it before the run ended"
          : "no later step applied it either";
      evidence.push({ ...where, shows: `${windowWords(e, last)} was fed, but ${after}` });
      windowsClaimed.push([e, last.index]);
      lost.push([e, last.samples]);
      continue;
    }
    const next = r.windows(e + 1)[0];
    const leak = holders.find((s) => r.holdsWhole(s, e, last));
    if (leak && next && holders.every((s) => holdsLater(s, e)) && r.holdsWhole(leak, e + 1, next)) {
      evidence.push({
        ...where,
        step: leak.step,
        shows: `${windowWords(e, last)} never stepped in its epoch: ${stepWord(leak.step)} applied it together with ${windowWords(e + 1, next)}`,
      });
      steps.push(leak.step);
      windowsClaimed.push([e, last.index], [e + 1, next.index]);
      leaked.push([e, last.samples]);
    }
  }
  if (evidence.length === 0) return null;
  return {
    id: "tail-never-stepped",
    evidence,
    explains: {
      steps,
      windows: windowsClaimed,
      lost,
      leaked,
      unproduced: unfed,
      stepCount: true,
    },
  };
}

/**
 * The micro-batches of epoch `epoch` that the first step after `after` holding that epoch only
 * took: the regular size of a step there (K when there is none).
 */
function regularStep(r: RunReading, epoch: number, after: number): number {
  const next = r.applied.find(
    (s) => s.step > after && s.parts.length > 0 && s.parts.every((p) => p.epoch === epoch),
  );
  return next ? r.microBatchCount(next, epoch) : r.k;
}

/** Whether some applied step took samples from the epoch's last micro-batch position. */
function lastMicroBatchApplied(r: RunReading, epoch: number): boolean {
  const last = r.produced(epoch) - 1;
  return r.applied.some((s) => {
    const [a, b] = r.span(s, epoch);
    return a <= last && last <= b && b >= 0;
  });
}

/**
 * The micro-batch count went on across an epoch boundary: a step held the end of one epoch and
 * fewer micro-batches of the next than that epoch's later steps hold, or (a loop that clears the
 * gradient at every epoch start) an epoch's last micro-batches were never applied and the next
 * epoch's first step took fewer micro-batches than its later ones. What the count never completes
 * at the run's end is lost. With `startsEarly` (the loop's first step came after one micro-batch)
 * an epoch's leftovers with the next epoch's first micro-batch alone are that loop's, not this.
 */
export function counterAcrossEpochs(r: RunReading, startsEarly: boolean): Mistake | null {
  const evidence: Evidence[] = [];
  const lostEpochs: number[] = [];
  let firstEpoch = r.epochs;
  for (const s of r.applied) {
    const epochs = [...new Set(s.parts.map((p) => p.epoch))].sort((a, b) => a - b);
    const [e, f] = epochs;
    if (epochs.length !== 2 || e === undefined || f !== e + 1) continue;
    const [a, b] = r.span(s, e);
    const [c, d] = r.span(s, f);
    if (b !== r.produced(e) - 1 || c !== 0) continue;
    if (startsEarly && d === 0) continue;
    const head = r.microBatchCount(s, f);
    const regular = regularStep(r, f, s.step);
    if (head >= regular) continue;
    firstEpoch = Math.min(firstEpoch, e);
    evidence.push({
      step: s.step,
      epoch: e,
      microBatches: [a, b],
      shows: `${stepWord(s.step)} applied ${microBatchesOf([a, b], e)} and ${microBatchesOf([c, d], f)}, where epoch ${nth(f)}'s later steps hold ${plural(regular, "micro-batch", "micro-batches")}: the count went on across the epoch boundary`,
    });
  }
  for (let f = 1; f < r.epochs; f++) {
    const e = f - 1;
    const first = r.applied.find((s) => r.partsOf(s, f).length > 0);
    if (!first || first.parts.some((p) => p.epoch !== f) || lastMicroBatchApplied(r, e)) continue;
    const [c, d] = r.span(first, f);
    const head = r.microBatchCount(first, f);
    if (c !== 0 || (startsEarly && d === 0) || head >= regularStep(r, f, first.step)) continue;
    const lastApplied = Math.max(-1, ...r.applied.map((s) => r.span(s, e)[1]));
    const left: [number, number] = [lastApplied + 1, r.produced(e) - 1];
    firstEpoch = Math.min(firstEpoch, e);
    lostEpochs.push(e);
    evidence.push({
      step: first.step,
      epoch: f,
      microBatches: [c, d],
      shows: `${microBatchesOf(left, e)} were never applied, and ${stepWord(first.step)} took ${microBatchesOf([c, d], f)} alone: the count went on across the epoch boundary while the gradient was cleared`,
    });
  }
  if (evidence.length === 0) return null;
  const lastEpoch = r.epochs - 1;
  const lastStep = r.applied[r.applied.length - 1];
  const end = lastStep ? r.span(lastStep, lastEpoch)[1] : -1;
  const left = r.produced(lastEpoch) - 1 - end;
  if (lastStep && left > 0 && (r.check.properties.coverage.epochs[lastEpoch]?.lost ?? 0) > 0) {
    lostEpochs.push(lastEpoch);
    evidence.push({
      epoch: lastEpoch,
      microBatches: [end + 1, r.produced(lastEpoch) - 1],
      shows: `the run's last ${plural(left, "micro-batch", "micro-batches")} (${microBatchesOf([end + 1, r.produced(lastEpoch) - 1], lastEpoch)}) never stepped: the count never reached a step again`,
    });
  }
  const epochs = range(firstEpoch, r.epochs);
  return {
    id: "counter-across-epochs",
    evidence,
    explains: {
      steps: r.applied
        .filter((s) => !r.isOneWholeWindow(s) && s.parts.some((p) => p.epoch >= firstEpoch))
        .map((s) => s.step),
      windows: windowsOf(r, epochs),
      leaked: allOf(r, "leaked"),
      lost: lostEpochs.map((e) => [e, r.check.properties.coverage.epochs[e]?.lost ?? 0]),
      stepCount: true,
    },
  };
}

/**
 * The epoch's last window was applied by two or more steps, each holding nothing else, while
 * every earlier window of the epoch was one step's: K was recomputed inside the tail.
 */
export function tailSplit(r: RunReading): Mistake | null {
  const evidence: Evidence[] = [];
  const steps: number[] = [];
  const windows: Array<[number, number]> = [];
  for (let e = 0; e < r.epochs; e++) {
    const last = r.lastProducedWindow(e);
    if (!last) continue;
    const holders = r.holders(e, last.index);
    if (holders.length < 2 || !holders.every((s) => s.parts.length === 1)) continue;
    // Only the last window split: every earlier window of the epoch is one step's, whole.
    const earlier = r.windows(e).filter((w) => w.index < last.index && w.samples > 0);
    const whole = (w: (typeof earlier)[number]) =>
      r.holders(e, w.index).some((s) => r.isOneWholeWindow(s) && r.holdsWhole(s, e, w));
    if (!earlier.every(whole)) continue;
    const held = holders.reduce((n, s) => n + (r.part(s, e, last.index)?.samples ?? 0), 0);
    if (held !== last.samples) continue;
    const pieces = holders.map((s) => {
      const [a, b] = r.span(s, e);
      return `${stepWord(s.step)} (${positionRange(a, b, "micro-batch", "micro-batches")})`;
    });
    evidence.push({
      epoch: e,
      window: last.index,
      microBatches: last.microBatches,
      shows: `${windowWords(e, last)} was applied by ${holders.length} steps: ${pieces.join(", ")}`,
    });
    steps.push(...holders.map((s) => s.step));
    windows.push([e, last.index]);
  }
  if (evidence.length === 0) return null;
  return { id: "tail-split", evidence, explains: { steps, windows, stepCount: true } };
}

/**
 * The run ended before the scenario's last epoch was done: after some epoch's windows, none of the
 * later ones was completed and no later epoch was fed. A step budget (max_steps, max_iters) ends a
 * run so, right after a step, or after a few more forward passes when it counts micro-batches.
 */
export function stepBudget(r: RunReading, tailsUnfed: readonly number[]): Mistake | null {
  const never = windowingFindings(r.check.properties.windowing, "unproduced-windows");
  const first = never[0];
  if (!first || tailsUnfed.includes(first.epoch)) return null;
  if (r.check.plan.some((p) => p.epoch > first.epoch && p.produced > 0)) return null;
  const lastCall = r.check.steps[r.check.steps.length - 1];
  if (!lastCall) return null;
  const fed = r.check.plan.reduce((n, p) => n + p.produced, 0);
  const fedBeforeSteps = r.check.steps.reduce((n, s) => n + s.microBatches, 0);
  const after = Math.max(0, fed - fedBeforeSteps);
  const { expectedSteps } = r.check.properties.windowing;
  const lost = r.check.plan.map((p): [number, number] => [
    p.epoch,
    p.windows.filter((w) => w.unproduced > 0).reduce((n, w) => n + w.samples, 0),
  ]);
  const missing = lost.reduce((n, [, count]) => n + count, 0);
  const windows = r.check.plan.flatMap((p) =>
    p.windows.filter((w) => w.unproduced > 0).map((w): [number, number] => [p.epoch, w.index]),
  );
  const ended =
    after === 0
      ? `the run ended right after ${stepWord(lastCall.step)}, after micro-batch ${first.producedMicroBatches} of epoch ${nth(first.epoch)}`
      : `the run ended after micro-batch ${first.producedMicroBatches} of epoch ${nth(first.epoch)}, ${plural(after, "micro-batch", "micro-batches")} after its last step (${stepWord(lastCall.step)}) that no step applied`;
  return {
    id: "step-budget",
    evidence: [
      {
        step: lastCall.step,
        epoch: first.epoch,
        microBatches: [first.producedMicroBatches - 1, first.producedMicroBatches - 1],
        shows: `${ended}; the scenario has ${plural(expectedSteps, "step")} over ${plural(r.epochs, "epoch")}, and the ${plural(windows.length, "window")} after it (${plural(missing, "sample")}) ${wasWere(windows.length)} never completed`,
      },
    ],
    explains: {
      unproduced: r.check.plan.filter((p) => p.epoch >= first.epoch).map((p) => p.epoch),
      lost,
      windows,
      stepCount: true,
    },
  };
}
