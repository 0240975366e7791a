import type { Scenario } from "../trainers/contract/scenario.js";
import type { Trace, TrainerInfo } from "../trainers/contract/trace.js";

/** pass: every property holds; fail: one fails; error: the trainer could not be checked. */
export type Verdict = "pass" | "fail" | "error";

/** One sample's occurrence in one epoch (both 0-based). */
export interface Occurrence {
  epoch: number;
  sample: number;
}

/** Coverage counts for one epoch. */
export interface EpochCoverage {
  epoch: number;
  /** Occurrences a correct trainer applies in this epoch (N minus dropped-by-config). */
  expected: number;
  /** Applied exactly once, in a step of this epoch. */
  applied: number;
  /** Never in an applied step (skipped steps included). */
  lost: number;
  /** Applied once, but by a step of a later epoch. */
  leaked: number;
  /** In more than one applied step. */
  duplicated: number;
  /** Left out on purpose by drop_last. */
  dropped: number;
}

/** Each sample in exactly one applied step per epoch. Lists are capped; counts are not. */
export interface CoverageResult {
  ok: boolean;
  message: string;
  epochs: EpochCoverage[];
  lost: Array<Occurrence & { inSkippedStep: number | null }>;
  leaked: Array<Occurrence & { step: number; stepEpoch: number }>;
  duplicated: Array<Occurrence & { steps: number[] }>;
  dropped: Occurrence[];
}

/** The sample whose weight is furthest from 1/|W|. */
export interface WorstWeight extends Occurrence {
  step: number;
  stepEpoch: number;
  weight: number;
  expectedWeight: number;
  windowSize: number;
  relError: number;
}

/** Applied gradient against the sample-count-weighted full-batch gradient. */
export interface WeightingResult {
  ok: boolean;
  message: string;
  /** Largest |w - 1/|W|| * |W| over every sample occurrence in an applied step. */
  maxRelError: number;
  /** Tolerance on maxRelError for the scenario's precision. */
  tolerance: number;
  /** Smallest relative weighting error this tolerance still detects. */
  detectableRelError: number;
  worst: WorstWeight | null;
  /** Largest relative error of the body gradient against the float64 oracle; null without a body. */
  bodyMaxRelError: number | null;
  bodyTolerance: number;
  bodyWorstStep: number | null;
}

/** One expected window that no applied step reproduced. */
export interface WindowMismatch {
  epoch: number;
  window: number;
  /** Micro-batch positions in the epoch, first and last. */
  microBatches: [number, number];
  expectedSamples: number;
  /** The applied step holding most of the window's samples, if any. */
  step: number | null;
  stepSamples: number;
  sharedSamples: number;
}

/** K micro-batches per window except the epoch's last, one applied step per window. */
export interface WindowingResult {
  ok: boolean;
  message: string;
  expectedSteps: number;
  appliedSteps: number;
  skippedSteps: number;
  mismatches: WindowMismatch[];
  /** Micro-batches whose size is not B (the epoch's last may be smaller). */
  irregularMicroBatches: Array<{ epoch: number; position: number; size: number }>;
}

export interface PropertyResults {
  coverage: CoverageResult;
  weighting: WeightingResult;
  windowing: WindowingResult;
}

/** The outcome of one trainer on one scenario: the `--json` output of `accumaudit check`. */
export interface CheckResult {
  trainer: string;
  trainerInfo?: TrainerInfo;
  scenario: Scenario;
  verdict: Verdict;
  /** Null when the verdict is "error". */
  properties: PropertyResults | null;
  /** Why the trainer could not be checked (verdict "error"). */
  error?: string;
  /** Milliseconds the trainer took. */
  durationMs?: number;
}

/** Per applied or skipped step, what the oracle found: data for charts. */
export interface StepAnalysis {
  step: number;
  epoch: number;
  skipped: boolean;
  lossScale: number | null;
  /** Sample occurrences with nonzero weight. */
  samples: number;
  /** The expected window the step was matched to (most shared samples). */
  window: { epoch: number; index: number; size: number } | null;
  /** Largest weight relative error among the step's occurrences. */
  weightRelError: number;
  /** Body gradient relative error, null without a body or when skipped. */
  bodyRelError: number | null;
}

/** What each occurrence ended up as. */
export type OccurrenceStatus = "ok" | "lost" | "leaked" | "duplicated" | "dropped";

/** Everything a report needs about one check: the result, the trace and the oracle's view. */
export interface CheckDiagnosis {
  result: CheckResult;
  trace: Trace | null;
  steps: StepAnalysis[];
  /** status[e][i] for epoch e, sample i. Empty on error. */
  occurrenceStatus: OccurrenceStatus[][];
  /** expectedWeight[e][i] = 1/|W| of the window holding (e, i); 0 when dropped by configuration. */
  expectedWeight: number[][];
}

/** A failing trainer's shrunk scenario and how to replay it. */
export interface Counterexample {
  scenario: Scenario;
  /** fast-check seed and path that replay the shrunk case. */
  seed: number;
  path: string;
  /** Number of shrink steps fast-check took. */
  shrinks: number;
  /** The command that replays the failure with `accumaudit check`. */
  replay: string;
  result: CheckResult;
}

/** One trainer's part of an audit. */
export interface TrainerAudit {
  trainer: string;
  trainerInfo?: TrainerInfo;
  verdict: Verdict;
  /** Scenarios run before the search stopped (shrinking excluded). */
  casesRun: number;
  counterexample: Counterexample | null;
  /**
   * Results on the fixed regression scenarios checked beside the search (the mission's
   * 110/8/4 over 2 epochs and 1000/128/4), in the order given.
   */
  regressions: CheckResult[];
  /** Present when the trainer could not be run at all. */
  error?: string;
}

/** The `--json` output of `accumaudit audit`. */
export interface AuditResult {
  harnessVersion: string;
  date: string;
  seed: number;
  runs: number;
  backend: string;
  trainers: TrainerAudit[];
}
