/**
 * The mistakes accumaudit can name in a failing loop. Each is a predicate over the judged trace
 * (see the detectors beside this file) and is named only with the evidence that makes it true;
 * `unexplained` is what the trace shows where no known mistake explains it.
 */
export const MISTAKE_IDS = [
  "no-step",
  "first-step-early",
  "tail-never-stepped",
  "counter-across-epochs",
  "tail-split",
  "step-budget",
  "skipped-step-lost",
  "sampler-padding",
  "applied-twice",
  "tail-divided-by-k",
  "micro-batch-mean",
  "loss-not-divided",
  "per-rank-count",
  "scaled-step",
  "body-precision",
  "replicas-drift",
  "draws-with-replacement",
  "draws-never-stepped",
  "update-not-applied",
  "update-applied-twice",
  "parameters-changed-outside-step",
  "step-state-unrecorded",
  "schedule-per-micro-batch",
  "schedule-per-epoch",
  "schedule-per-rank",
  "schedule-on-skipped-step",
  "clip-missing",
  "clip-not-once",
  "ema-per-micro-batch",
  "ema-on-skipped-step",
  "optimizer-count-off",
  "unexplained",
] as const;

/** A mistake accumaudit recognises (or `unexplained`). */
export type MistakeId = (typeof MISTAKE_IDS)[number];

/**
 * One piece of evidence: where in the run (0-based step, epoch, window and micro-batch positions,
 * as the trace counts them) and what the trace shows there, in a sentence that counts from 1 as
 * every message does.
 */
export interface Evidence {
  step?: number;
  epoch?: number;
  window?: number;
  microBatches?: [number, number];
  shows: string;
}

/** What a detector's mistake accounts for, so that the rest can be reported as unexplained. */
export interface Explains {
  /** Steps whose weights, body gradient and windows the mistake accounts for. */
  steps?: number[];
  /** Windows (epoch, index) that no step reproduced because of the mistake. */
  windows?: Array<[number, number]>;
  /** Occurrences per epoch the mistake lost, leaked or duplicated: [epoch, count]. */
  lost?: Array<[number, number]>;
  leaked?: Array<[number, number]>;
  duplicated?: Array<[number, number]>;
  /** Epochs whose windows that no loader produced the mistake accounts for. */
  unproduced?: number[];
  /** The replicas' disagreement. */
  replicas?: boolean;
  /** The step count (a mistake that adds or removes steps as a whole). */
  stepCount?: boolean;
  /** Update findings (what steps did to the parameters), as indices into the weighting findings. */
  updates?: number[];
}

/** A mistake found in a trace, with its evidence. */
export interface Mistake {
  id: MistakeId;
  evidence: Evidence[];
  explains: Explains;
}
