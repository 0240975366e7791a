import type { Tensor } from "@tensorflow/tfjs-core";
import { FINGERPRINT_COEFFICIENT } from "../contract/probe.js";
import type { OutsideChange, Step, StepUpdate } from "../contract/trace.js";

/**
 * How the TensorFlow.js recorder takes what a step or anything else did to the parameters: values
 * before and after, subtracted in float64 (θ − θ', exact for float32 values), and changes outside
 * the steps as the trace holds them (`outsideSteps`).
 */

/** Values of the same parameters before and after a change. */
export interface BeforeAfter<T> {
  before: T;
  after: T;
}

/**
 * Parameters that changed outside any optimizer step (a value assigned to a variable by the
 * loop), seen before step call `stepsBefore` (the run's end when no call came after): phi's
 * change θ − θ' as flat indices and changes, and the body's, dense.
 */
export interface OutsideChangeSeen {
  stepsBefore: number;
  fingerprint?: { indices: ArrayLike<number>; changes: ArrayLike<number> };
  /** phi (epochs x N) before and after, for a phi held as a variable. */
  fingerprintDense?: BeforeAfter<Tensor>;
  body?: BeforeAfter<Tensor>;
}

/** before − after, entry by entry, in float64. */
export function difference(before: ArrayLike<number>, after: ArrayLike<number>): Float64Array {
  const change = new Float64Array(after.length);
  for (let k = 0; k < after.length; k++) change[k] = (before[k] as number) - (after[k] as number);
  return change;
}

/** The values of a tensor or of an array, read synchronously. */
export function valuesOf(values: ArrayLike<number> | Tensor): ArrayLike<number> {
  return isTensor(values) ? values.dataSync() : values;
}

/** Copies of a pair of tensors, to read later. */
export function clonePair(pair: BeforeAfter<Tensor>): BeforeAfter<Tensor> {
  return { before: pair.before.clone(), after: pair.after.clone() };
}

/** Reads a pair of tensors asynchronously and gives before − after. */
export async function readDifference(pair: BeforeAfter<Tensor>): Promise<Float64Array> {
  return difference(await pair.before.data(), await pair.after.data());
}

/** Frees a pair of tensors. */
export function disposePair(pair: BeforeAfter<Tensor> | null | undefined): void {
  pair?.before.dispose();
  pair?.after.dispose();
}

/** Whether a value is a tensor (rather than an array of numbers). */
export function isTensor(value: ArrayLike<number> | Tensor): value is Tensor {
  return typeof (value as Tensor).dataSync === "function";
}

/** Every nonzero entry of a dense change of phi, as flat indices and changes. */
export function nonzeroChanges(dense: ArrayLike<number>): { indices: number[]; changes: number[] } {
  const indices: number[] = [];
  const changes: number[] = [];
  for (let k = 0; k < dense.length; k++) {
    const change = dense[k] ?? 0;
    if (change === 0) continue;
    indices.push(k);
    changes.push(change);
  }
  return { indices, changes };
}

/** A change outside the steps as the trace holds it, from phi's flat indices and changes and the body's. */
export function outsideEntry(
  stepsBefore: number,
  fingerprint: { indices: ArrayLike<number>; changes: ArrayLike<number> },
  body: ArrayLike<number> | null,
  datasetSize: number,
): OutsideChange {
  const { indices, changes } = fingerprint;
  const epochs: number[] = [];
  const samples: number[] = [];
  for (let k = 0; k < indices.length; k++) {
    const index = indices[k] as number;
    epochs.push(Math.floor(index / datasetSize));
    samples.push(index % datasetSize);
  }
  const bodyChanges = body === null ? null : Array.from(body);
  return {
    rank: 0,
    since: stepsBefore,
    stepsBefore,
    fingerprint: { epochs, samples, changes: Array.from(changes) },
    body: bodyChanges?.some((c) => c !== 0) ? bodyChanges : null,
  };
}

/**
 * A step's `update`: the rule ("sgd" unless said), the learning rate, θ − θ' of the step's
 * fingerprint entries and of the body, and the phi entries without a gradient it moved.
 */
export function stepUpdate(
  update: { rule?: "sgd" | "other"; learningRate: number; movedWithoutGradient?: number },
  fingerprint: number[],
  body: ArrayLike<number> | null,
): StepUpdate {
  return {
    rule: update.rule ?? "sgd",
    learningRate: update.learningRate,
    fingerprint,
    body: body === null ? null : Array.from(body),
    movedWithoutGradient: update.movedWithoutGradient ?? 0,
  };
}

/** What a step call records beside its gradient: the optimizer's count, the parameters' average. */
export interface StepExtras {
  /** The optimizer's own step count after this call (AdamW's), absent without one. */
  optimizerSteps?: number;
  /** Projections of the parameters at the call's start and right after it, when an average is watched. */
  average?: { before: number[]; after: number[] };
}

/** The trace's fields for a step call's extras; the average's `value` is filled in later. */
export function stepExtras(extras: StepExtras): Pick<Step, "optimizerSteps" | "average"> {
  return {
    ...(extras.optimizerSteps === undefined ? {} : { optimizerSteps: extras.optimizerSteps }),
    ...(extras.average === undefined
      ? {}
      : {
          average: {
            before: [...extras.average.before],
            after: [...extras.average.after],
            value: [],
          },
        }),
  };
}

/**
 * The trace's entries of a fingerprint gradient: its nonzero values, in order, at `indices`
 * (ascending) for a sparse gradient, or at their own positions for a dense one (`indices` null).
 */
export function fingerprintEntries(
  indices: ArrayLike<number> | null,
  values: ArrayLike<number>,
  datasetSize: number,
  changes: ArrayLike<number> | null = null,
): { fingerprint: Step["fingerprint"]; changes: number[] } {
  const epochs: number[] = [];
  const samples: number[] = [];
  const weights: number[] = [];
  const kept: number[] = [];
  for (let k = 0; k < values.length; k++) {
    const g = values[k] ?? 0;
    if (g === 0) continue;
    const index = indices === null ? k : (indices[k] as number);
    epochs.push(Math.floor(index / datasetSize));
    samples.push(index % datasetSize);
    weights.push(g / FINGERPRINT_COEFFICIENT);
    if (changes !== null) kept.push(changes[k] ?? Number.NaN);
  }
  return { fingerprint: { epochs, samples, weights }, changes: kept };
}
