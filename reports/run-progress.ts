import type { RunProgress } from "../trainers/contract/trainer.js";

/** No estimate of the time left before the run has trained this long since its first report... */
export const ESTIMATE_AFTER_MS = 2000;
/** ...and has run this share of its micro-batches. */
export const ESTIMATE_FROM_FRACTION = 0.01;

/** When a trainer reported where its run stood, and the share of the run's micro-batches done. */
export interface ProgressSample {
  /** Milliseconds, on the clock of the display. */
  at: number;
  fraction: number;
}

/**
 * The share of a run's micro-batches done, from 0 to 1: under epoch sampling the epochs done and
 * the micro-batches of the epoch in progress, of epochs x micro-batches per epoch; under
 * replacement sampling the micro-batches done of steps x K. Undefined when the run has none
 * (drop_last with fewer samples than one micro-batch).
 */
export function runFraction(run: RunProgress): number | undefined {
  const perEpoch = run.microBatches;
  const epochs = run.sampling === "epochs" ? run.epochs : 1;
  if (perEpoch <= 0 || epochs <= 0) return undefined;
  const epochsDone = run.sampling === "epochs" ? Math.min(run.epoch, epochs) : 0;
  const done = epochsDone * perEpoch + Math.min(run.microBatch, perEpoch);
  return Math.min(done / (epochs * perEpoch), 1);
}

function count(value: number, total: number): string {
  return `${Math.min(value, total).toLocaleString("en-US")}/${total.toLocaleString("en-US")}`;
}

/**
 * Where a run stands, in words: "epoch 2/3, micro-batch 120,000/300,000" (the epoch counted from
 * 1, the micro-batches of that epoch), or under replacement sampling "step 300/750, micro-batch
 * 1,200/3,000" (steps applied and micro-batches run, of the whole run).
 */
export function runPosition(run: RunProgress): string {
  const microBatch = `micro-batch ${count(run.microBatch, run.microBatches)}`;
  if (run.sampling === "replacement")
    return `step ${count(run.steps, run.totalSteps)}, ${microBatch}`;
  return `epoch ${count(run.epoch + 1, run.epochs)}, ${microBatch}`;
}

/** A duration as a clock: "0:05", "1:40", "1:02:03". */
export function formatClock(seconds: number): string {
  const whole = Math.max(0, Math.floor(seconds));
  const s = String(whole % 60).padStart(2, "0");
  const minutes = Math.floor(whole / 60);
  if (minutes < 60) return `${minutes}:${s}`;
  return `${Math.floor(minutes / 60)}:${String(minutes % 60).padStart(2, "0")}:${s}`;
}

/**
 * Seconds the run still needs, at the rate it has run its micro-batches since its first report
 * (so that a worker's start and the data's transfer do not count), less the time since the
 * latest report; undefined until the run has trained {@link ESTIMATE_AFTER_MS} and done
 * {@link ESTIMATE_FROM_FRACTION} of its micro-batches.
 */
export function secondsLeft(
  first: ProgressSample,
  latest: ProgressSample,
  now: number,
): number | undefined {
  const span = latest.at - first.at;
  if (span < ESTIMATE_AFTER_MS || latest.fraction < ESTIMATE_FROM_FRACTION) return undefined;
  const rate = (latest.fraction - first.fraction) / span;
  if (!(rate > 0)) return undefined;
  return Math.max(0, (1 - latest.fraction) / rate - (now - latest.at)) / 1000;
}
