import type { Scenario } from "../trainers/contract/scenario.js";
import type { Trace } from "../trainers/contract/trace.js";

/** A run of consecutive micro-batches whose gradients one correct optimizer step sums. */
export interface ExpectedWindow {
  epoch: number;
  /** 0-based position of the window in its epoch. */
  index: number;
  /** First and last micro-batch positions in the epoch. */
  microBatches: [number, number];
  samples: number[];
}

/** Where an epoch's sample order came from. */
export type OrderSource = "observed" | "index-order" | "applied-steps";

/** What a correct trainer does in one epoch, given the order the loader produced. */
export interface EpochPlan {
  epoch: number;
  source: OrderSource;
  /** Micro-batches of the epoch in loader order (sample ids). */
  microBatches: number[][];
  windows: ExpectedWindow[];
  /** Samples drop_last leaves out of this epoch on purpose. */
  dropped: number[];
  /** Samples the loader never produced in this epoch although they were not dropped on purpose. */
  unseen: number[];
}

function groupIntoWindows(epoch: number, microBatches: number[][], k: number): ExpectedWindow[] {
  const windows: ExpectedWindow[] = [];
  for (let first = 0; first < microBatches.length; first += k) {
    const last = Math.min(first + k, microBatches.length) - 1;
    windows.push({
      epoch,
      index: windows.length,
      microBatches: [first, last],
      samples: microBatches.slice(first, last + 1).flat(),
    });
  }
  return windows;
}

function chunk(order: number[], size: number): number[][] {
  const out: number[][] = [];
  for (let start = 0; start < order.length; start += size)
    out.push(order.slice(start, start + size));
  return out;
}

/** Micro-batches the probe saw in an epoch; a repeat of the same samples (a redone window) counts once. */
function observedMicroBatches(trace: Trace, epoch: number): number[][] | undefined {
  if (!trace.microBatches) return undefined;
  const seen = new Set<string>();
  const batches: number[][] = [];
  for (const mb of trace.microBatches) {
    if (mb.epoch !== epoch) continue;
    const key = mb.samples.join(",");
    if (seen.has(key)) continue;
    seen.add(key);
    batches.push(mb.samples);
  }
  return batches;
}

/** Occurrences of an epoch in the order applied steps hold them, for traces without micro-batches. */
function appliedOrder(trace: Trace, epoch: number): number[] {
  const order: number[] = [];
  const seen = new Set<number>();
  for (const step of trace.steps) {
    if (step.skipped) continue;
    const samples = step.fingerprint.samples
      .filter((_, k) => step.fingerprint.epochs[k] === epoch)
      .sort((a, b) => a - b);
    for (const s of samples) if (!seen.has(s)) seen.add(s) && order.push(s);
  }
  return order;
}

function planEpoch(scenario: Scenario, trace: Trace, epoch: number): EpochPlan {
  const { datasetSize: n, batchSize: b, accumulation: k, dropLast } = scenario;
  const observed = observedMicroBatches(trace, epoch);
  let source: OrderSource;
  let microBatches: number[][];
  if (observed) {
    source = "observed";
    microBatches = observed;
  } else if (scenario.shuffle === false) {
    source = "index-order";
    microBatches = chunk(
      Array.from({ length: n }, (_, i) => i),
      b,
    );
    if (dropLast && n % b !== 0) microBatches.pop();
  } else {
    source = "applied-steps";
    microBatches = chunk(appliedOrder(trace, epoch), b);
  }
  const present = new Set(microBatches.flat());
  const missing = Array.from({ length: n }, (_, i) => i).filter((i) => !present.has(i));
  const droppedOnPurpose = dropLast && missing.length === n % b;
  return {
    epoch,
    source,
    microBatches,
    windows: groupIntoWindows(epoch, microBatches, k),
    dropped: droppedOnPurpose ? missing : [],
    unseen: droppedOnPurpose ? [] : missing,
  };
}

/**
 * What a correct trainer does in each epoch: the loader's micro-batches (as the probe observed
 * them, or index order when nothing was observed and there is no shuffle), grouped K at a time
 * into windows, the epoch's last window holding what is left.
 */
export function planEpochs(scenario: Scenario, trace: Trace): EpochPlan[] {
  return Array.from({ length: scenario.epochs }, (_, epoch) => planEpoch(scenario, trace, epoch));
}
