import type { Scenario } from "../trainers/contract/scenario.js";
import type { TrainerInfo } from "../trainers/contract/trace.js";
import type { TrainerFrame } from "../trainers/contract/trainer.js";
import type { SampleSet } from "./sample-set.js";

/** pass: every property holds; fail: one fails; error: the trainer could not be checked. */
export type Verdict = "pass" | "fail" | "error";

/** An expected window, named by its epoch, its position in the epoch and its size (all 0-based but size). */
export interface WindowRef {
  epoch: number;
  index: number;
  size: number;
  /** Its loss units: `size` under sample weighting, its loss tokens (every rank) under token weighting. */
  units: number;
}

/** One micro-batch of an expected window: where the loader put it, its samples and loss units. */
export interface MicroBatchRef {
  rank: number;
  /** Position of the micro-batch in its rank's epoch, 0-based. */
  position: number;
  samples: number;
  /** Loss units: its samples, or its loss tokens under token weighting. */
  units: number;
}

/**
 * Coverage counts for one epoch. Under replacement sampling there is one row, epoch 0, and it
 * counts draws (a sample drawn twice counts twice) of the scenario's windows.
 */
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

/**
 * What coverage found about a group of one epoch's samples: never applied (`skippedStep`: the
 * skipped step that held them, null when no step call did), applied by a step of a later epoch,
 * used more than once (applied by several steps, or fed through several micro-batches: `seenOnRanks`
 * lists the rank of each of those forward passes; `likelyCause` "sampler-padding" when they ran on
 * different ranks, as a sampler that pads the last shard with repeated samples does), or left
 * out on purpose by drop_last (not a failure).
 */
export type CoverageFinding =
  | {
      kind: "lost";
      epoch: number;
      samples: SampleSet;
      skippedStep: number | null;
      /** The ranks whose loaders fed these samples (empty when no loader did). */
      ranks: number[];
    }
  | {
      kind: "leaked";
      epoch: number;
      samples: SampleSet;
      step: number;
      stepEpoch: number;
      ranks: number[];
    }
  | {
      kind: "duplicated";
      epoch: number;
      samples: SampleSet;
      steps: number[];
      seenOnRanks: number[];
      likelyCause: "sampler-padding" | null;
    }
  | { kind: "dropped"; epoch: number; samples: SampleSet }
  | {
      /**
       * Replacement sampling: draws of one window that no applied step applied (`skippedStep`:
       * the skipped step call right after their forward passes, null when none was skipped).
       * `epoch` is 0, the one tag such a run has.
       */
      kind: "lost-draws";
      epoch: number;
      window: number;
      /** The window's micro-batch positions in forward order, first and last. */
      microBatches: [number, number];
      /** Draws lost: the samples' draws in the window, a sample drawn twice counted twice. */
      draws: number;
      samples: SampleSet;
      skippedStep: number | null;
    }
  | {
      /** Replacement sampling: draws of one window applied by more than one step (`steps`). */
      kind: "duplicated-draws";
      epoch: number;
      window: number;
      microBatches: [number, number];
      draws: number;
      samples: SampleSet;
      steps: number[];
    }
  | {
      /**
       * Epoch sampling: the loop draws samples with replacement, not in epochs. In this epoch, on
       * this rank, `sample` was fed by the micro-batches at these two positions (the same position
       * twice: twice in one micro-batch) while `neverDrawn` samples were never fed; `samples` are
       * those fed more than once. Coverage per epoch does not apply to such a loop;
       * `appliedSteps` is the number of steps it applied, what replacement sampling's steps would be.
       */
      kind: "drawn-with-replacement";
      epoch: number;
      rank: number;
      samples: SampleSet;
      sample: number;
      microBatches: [number, number];
      neverDrawn: number;
      appliedSteps: number;
    };

/**
 * Coverage: each sample in exactly one applied step of its epoch (under replacement sampling,
 * each draw in exactly one applied step).
 */
export interface CoverageResult {
  /** No sample lost, leaked or duplicated (no draw lost or duplicated). */
  ok: boolean;
  epochs: EpochCoverage[];
  /**
   * Grouped by kind, epoch and step; every affected occurrence is in exactly one finding of the
   * kinds lost, leaked, duplicated and dropped (under replacement sampling, every affected draw in
   * one lost-draws or duplicated-draws finding). A drawn-with-replacement finding comes first and
   * names the samples fed more than once, which those findings hold too.
   */
  findings: CoverageFinding[];
}

/** Samples of one step that got (about) the same weight against the same expected weight. */
export interface WeightGroup {
  /** Epoch the samples' occurrences belong to (a leaked tail carries the earlier epoch). */
  epoch: number;
  samples: SampleSet;
  /** The weight they got (the group's mean). */
  weight: number;
  /**
   * clip x units_i / units(W) of their window (1/|W| under sample weighting without clipping); 0
   * where no weight was due.
   */
  expected: number;
  /** The factor clipping scaled their window's gradient by (1 without clipping). */
  clip: number;
  /** Largest |w - expected| / expected in the group. */
  relError: number;
}

/** The sample whose weight is furthest from the expected units_i / units(W). */
export interface WorstWeight {
  epoch: number;
  sample: number;
  step: number;
  stepEpoch: number;
  weight: number;
  expectedWeight: number;
  /** Distinct samples of the window holding the occurrence; 0 without one. */
  windowSize: number;
  /** What the sample counts for: 1 under sample weighting, its loss tokens under token weighting. */
  units: number;
  /** The window's loss units (its samples, or its loss tokens over every rank); 0 without one. */
  windowUnits: number;
  relError: number;
}

/**
 * What weighting found wrong at one step: its weights against the window the oracle matched
 * (`relError`, which decides) and among themselves (`spread`: how much larger the largest
 * applied weight is than the smallest, 0 when all are equal), with every group of its samples;
 * or a body gradient off the float64 oracle.
 */
export type WeightingFinding =
  | {
      kind: "step-weights";
      step: number;
      epoch: number;
      window: WindowRef | null;
      relError: number;
      spread: number;
      groups: WeightGroup[];
      /** The matched window's micro-batches (empty without one). */
      microBatches: MicroBatchRef[];
      /** The common loss scaling that gives every weight of the step, when one does. */
      explainedBy: LossScaling | null;
    }
  | { kind: "body-gradient"; step: number; epoch: number; relError: number }
  | NonFiniteFinding
  | UpdateFinding;

/**
 * An applied step that carried NaN or an infinity: the first such number of the step, in its
 * fingerprint weights, its body gradient or the parameters before it (properties/non-finite.ts).
 * Weighting fails on it: nothing a window is due is non-finite.
 */
export interface NonFiniteFinding {
  kind: "non-finite";
  step: number;
  epoch: number;
  part: "fingerprint weight" | "body gradient" | "parameter before the step";
  entry: number;
  value: number;
}

/**
 * What a step did to the parameters against what its gradient says (the trace's `update` and
 * `outsideSteps`, see properties/updates.ts). `rank` is the rank whose step (or parameters) it is,
 * `step` that rank's step call. "update-missing": the step's gradient was not zero, yet no
 * parameter moved. "update-factor": a plain-SGD step moved its parameters by `factor` x lr·g
 * (null: by no one multiple; `relError` the largest |Δ - lr·g| over the largest |lr·g|), or moved
 * fingerprint entries it had no gradient for. "outside-step": the parameters changed between the
 * rank's step calls `since` and `stepsBefore` (counted as in `outsideSteps`; `stepCalls` is the
 * rank's total), by no step; `repeats` when the change is `factor` x the update of the step call
 * right before it (that step's gradient applied again outside the step).
 */
export type UpdateFinding =
  | {
      kind: "update-missing";
      rank: number;
      step: number;
      epoch: number;
      learningRate: number | null;
    }
  | {
      kind: "update-factor";
      rank: number;
      step: number;
      epoch: number;
      learningRate: number;
      factor: number | null;
      relError: number;
      movedWithoutGradient: number;
    }
  | {
      kind: "outside-step";
      rank: number;
      since: number;
      stepsBefore: number;
      stepCalls: number;
      fingerprintEntries: number;
      bodyEntries: number;
      /** The largest |θ - θ'| of any entry that changed. */
      largest: number;
      repeats: { step: number; epoch: number; factor: number } | null;
    };

/**
 * Loss scalings that common loops use, each a weight per sample (B_i: the loss units of the
 * sample's micro-batch, its samples or, under token weighting, its loss tokens; m: the
 * micro-batches of its rank in the window; R_i: the loss units of its rank's part of the window;
 * W: ranks, averaged by DDP), times the sample's own units (1, or its loss tokens):
 * "divided-by-k" 1/(W K B_i) (a micro-batch mean / K, the tail window included);
 * "micro-batch-mean" 1/(W m B_i) (a micro-batch mean / the window's micro-batches);
 * "not-divided" 1/(W B_i) (micro-batch means summed, never divided);
 * "per-rank-count" 1/(W R_i) (each rank divides by its own count, then DDP averages; W > 1 only);
 * "summed" 1/W (every sample's loss summed, never divided by any count).
 */
export type LossScaling =
  | "divided-by-k"
  | "micro-batch-mean"
  | "not-divided"
  | "per-rank-count"
  | "summed";

/** Applied gradient against the sample-count-weighted full-batch gradient. */
export interface WeightingResult {
  ok: boolean;
  /** Largest |w - e| / e (e = units_i / units(W)) over every sample occurrence in an applied step. */
  maxRelError: number;
  /** Tolerance on maxRelError for the precision that ran. */
  tolerance: number;
  /** Smallest relative weighting error this tolerance still detects. */
  detectableRelError: number;
  worst: WorstWeight | null;
  /** Largest relative error of the body gradient against the float64 oracle; null without a body. */
  bodyMaxRelError: number | null;
  bodyTolerance: number;
  bodyWorstStep: number | null;
  /** Steps that applied any fingerprint weight. */
  weightedSteps: number;
  /** One per step beyond a tolerance, in step order. */
  findings: WeightingFinding[];
}

/**
 * What windowing found: the number of applied steps differs from the number of windows (counted
 * from the scenario); windows of an epoch that no loader produced (the run stopped before them);
 * an expected window that no applied step reproduced (with the step holding most of its samples);
 * a micro-batch whose size is not B (the epoch's last may be smaller).
 */
export type WindowingFinding =
  | { kind: "step-count"; expected: number; applied: number }
  | {
      kind: "unmatched-window";
      epoch: number;
      window: number;
      /** Micro-batch positions in the epoch, first and last. */
      microBatches: [number, number];
      expectedSamples: number;
      /** The applied step holding most of the window's samples, if any. */
      step: number | null;
      stepEpoch: number | null;
      stepSamples: number;
      sharedSamples: number;
    }
  | {
      kind: "unproduced-windows";
      epoch: number;
      /** First and last window (0-based positions in the epoch) that no loader produced. */
      windows: [number, number];
      /** Micro-batch positions per rank the scenario implies beyond those produced. */
      microBatches: number;
      /** Micro-batch positions the longest rank's loader produced in the epoch. */
      producedMicroBatches: number;
      /** Samples with loss units that these windows hold. */
      samples: number;
    }
  | { kind: "irregular-micro-batch"; epoch: number; rank: number; position: number; size: number }
  | {
      /**
       * Replacement sampling: micro-batches drawn beyond the scenario's steps x K (positions in
       * forward order, first and last), their draws, and the applied steps that applied any.
       */
      kind: "extra-draws";
      microBatches: [number, number];
      draws: number;
      steps: number[];
    };

/** K micro-batches per window except the epoch's last, one applied step per window. */
export interface WindowingResult {
  ok: boolean;
  expectedSteps: number;
  appliedSteps: number;
  skippedSteps: number;
  findings: WindowingFinding[];
}

/**
 * What the replicas check found: a rank that took another number of step calls than rank 0, or
 * whose step applied another gradient than rank 0's same step (`part`: the fingerprint weights or
 * the body gradient; `relError`: the largest difference relative to rank 0's value).
 */
export type ReplicaFinding =
  | { kind: "step-count"; rank: number; steps: number; expected: number }
  | {
      kind: "step-differs";
      rank: number;
      step: number;
      epoch: number;
      part: "fingerprint" | "body";
      relError: number;
    };

/** Replicas agree: every rank applied the same gradient at the same step (data-parallel runs). */
export interface ReplicasResult {
  ok: boolean;
  /** The world size: ranks compared, rank 0 included. */
  ranks: number;
  /** Largest difference of any rank's step from rank 0's, relative; 0 with one rank. */
  maxRelError: number;
  tolerance: number;
  findings: ReplicaFinding[];
}

/**
 * The learning rate one applied step used against the schedule's: `appliedStep` counts applied
 * steps from 0 on the step's rank; `used` is null when the trace does not say (no recorded rate,
 * and no plain-SGD update to read it from); `scheduleStep` is the schedule step whose rate equals
 * `used`, when one does (K x s for a schedule ticking per micro-batch).
 */
export interface LearningRateStep {
  rank: number;
  /** The rank's step call. */
  step: number;
  epoch: number;
  appliedStep: number;
  expected: number;
  used: number | null;
  scheduleStep: number | null;
  /** Every schedule step whose rate equals `used` (a schedule may repeat a rate), in order. */
  scheduleSteps: number[];
}

/** What the schedule check found: a step whose learning rate is off the schedule, or unknown. */
export type ScheduleFinding =
  | ({ kind: "learning-rate" } & LearningRateStep)
  | { kind: "learning-rate-unknown"; rank: number; steps: number };

/** Schedule: applied step s (0-based, applied steps only) used the scenario's schedule at s. */
export interface ScheduleResult {
  ok: boolean;
  /** Whether the scenario sets a schedule (anything but constant without warm-up). */
  applies: boolean;
  /** T: applied steps the schedule spans, from the scenario. */
  length: number;
  /** Relative tolerance on a learning rate. */
  tolerance: number;
  /** Rank 0's applied steps, expected and used: the chart's data. */
  steps: LearningRateStep[];
  findings: ScheduleFinding[];
}

/**
 * One step call's average against the recursion: `updates` is the number of updates by the
 * parameters after the call that explains the average read before the next call (1 for an applied
 * step, 0 for a skipped one; null when no whole number does, or nothing moved to tell).
 */
export interface AverageStep {
  rank: number;
  step: number;
  epoch: number;
  skipped: boolean;
  updates: number | null;
  expectedUpdates: number;
  /** |value - expected| over the size of the step's move, at the worst direction. */
  relError: number;
}

/** What the averaging check found. */
export type AveragingFinding =
  | ({ kind: "average-updates" } & AverageStep)
  | { kind: "average-unknown"; rank: number; steps: number };

/** Averaging: the parameters' average follows one update per applied step, none per skipped one. */
export interface AveragingResult {
  ok: boolean;
  /** Whether the scenario asks for an average (`ema`). */
  applies: boolean;
  decay: number | null;
  tolerance: number;
  /** Rank 0's step calls: the report's updates per step. */
  steps: AverageStep[];
  findings: AveragingFinding[];
}

/** What the optimizer-state check found: a step count off the applied steps, or none recorded. */
export type OptimizerStateFinding =
  | {
      kind: "step-count";
      rank: number;
      step: number;
      epoch: number;
      skipped: boolean;
      /** Applied steps up to and including this call. */
      expected: number;
      counted: number;
    }
  | { kind: "count-unknown"; rank: number; steps: number };

/** Optimizer state: the optimizer's own step count equals the applied steps after every call. */
export interface OptimizerStateResult {
  ok: boolean;
  /** Whether the scenario asks for an optimizer with state (`adamw`) or an overflow. */
  applies: boolean;
  /** Rank 0's last recorded count and its applied steps (null when it recorded none). */
  counted: number | null;
  appliedSteps: number;
  findings: OptimizerStateFinding[];
}

/** The properties' results. */
export interface PropertyResults {
  coverage: CoverageResult;
  weighting: WeightingResult;
  windowing: WindowingResult;
  replicas: ReplicasResult;
  schedule: ScheduleResult;
  averaging: AveragingResult;
  optimizer: OptimizerStateResult;
}

/** The names of the properties, in the order every output lists them. */
export const PROPERTY_NAMES = [
  "coverage",
  "weighting",
  "windowing",
  "replicas",
  "schedule",
  "averaging",
  "optimizer",
] as const;
export type PropertyName = (typeof PROPERTY_NAMES)[number];

/** The properties of a step beyond its gradient, each checked only when the scenario asks. */
export const STEP_PROPERTY_NAMES = ["schedule", "averaging", "optimizer"] as const;

/**
 * The properties a check speaks to: replicas only above one rank; schedule, averaging and
 * optimizer state only when `scenario` asks for them (see {@link STEP_PROPERTY_NAMES}).
 */
export function propertiesFor(
  worldSize: number,
  scenario?: Pick<Scenario, "schedule" | "warmupSteps" | "ema" | "optimizer" | "overflowStep">,
): readonly PropertyName[] {
  return PROPERTY_NAMES.filter((p) => {
    if (p === "replicas") return worldSize > 1;
    if (p === "schedule") return scenario !== undefined && scheduleApplies(scenario);
    if (p === "averaging") return scenario?.ema !== undefined;
    if (p === "optimizer") return scenario !== undefined && optimizerStateApplies(scenario);
    return true;
  });
}

/** Whether a scenario sets a learning-rate schedule (anything but constant without warm-up). */
export function scheduleApplies(scenario: Pick<Scenario, "schedule" | "warmupSteps">): boolean {
  return scenario.schedule !== "constant" || scenario.warmupSteps > 0;
}

/** Whether a scenario's optimizer keeps a step count to check (AdamW), or an overflow skips a step. */
export function optimizerStateApplies(
  scenario: Pick<Scenario, "optimizer" | "overflowStep">,
): boolean {
  return scenario.optimizer !== "sgd" || scenario.overflowStep !== undefined;
}

/**
 * The part of one expected window that a step applied: which micro-batch positions of it (first
 * and last, and how many) and how many of its samples. `window` is null for samples that belong
 * to no window (dropped by configuration, or outside the scenario).
 */
export interface StepPart {
  epoch: number;
  window: number | null;
  /** The window's micro-batch positions, first and last (null without a window). */
  windowMicroBatches: [number, number] | null;
  /** Positions of the micro-batches whose samples the step applied, first and last (-1 when unknown). */
  microBatches: [number, number];
  /** How many distinct micro-batch positions the step took samples from. */
  microBatchCount: number;
  /** Occurrences of the window the step applied. */
  samples: number;
  /** The window's samples that carry loss units (all of them under sample weighting). */
  windowSamples: number;
}

/** One expected window, as advice and reports read it. */
export interface WindowOutline {
  index: number;
  /** Its micro-batch positions in the epoch, first and last (on each rank). */
  microBatches: [number, number];
  /** Its samples that carry loss units, over every rank. */
  samples: number;
  units: number;
  /** Positions of it that no loader produced. */
  unproduced: number;
}

/** An epoch's windows, from the scenario, with how far the loaders got. */
export interface EpochOutline {
  epoch: number;
  /** Micro-batch positions per rank the epoch has (from the scenario, or more when produced). */
  microBatches: number;
  /** Positions the longest rank's loader produced. */
  produced: number;
  windows: WindowOutline[];
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
  window: WindowRef | null;
  /** Forward passes (micro-batches) rank 0 ran since its previous step call. */
  microBatches: number;
  /** Largest weight relative error among the step's occurrences, against its expected window. */
  weightRelError: number;
  /** Largest applied weight over the smallest, minus 1: 0 when the step weighted its samples equally. */
  weightSpread: number;
  /** Body gradient relative error, null without a body, when skipped or unmatched. */
  bodyRelError: number | null;
  /** What the step applied, window by window (empty for a skipped step). */
  parts: StepPart[];
  /**
   * The one factor c with every applied weight = c x its due weight (within the tolerance), when
   * there is one: 1 for a right step; null when the weights are not one multiple of the due ones.
   */
  weightFactor: number | null;
  /**
   * The factor c with applied body gradient = c x the oracle's (within the body tolerance), when
   * there is one; null without a body, for an unmatched step, or when none fits.
   */
  bodyFactor: number | null;
  /**
   * True when the step gave each occurrence it applied units_i / (the units of all it applied):
   * it weighted what it holds as one batch, so any weight error comes from what it holds.
   */
  ownBatch: boolean;
  /**
   * The factor clipping to the scenario's norm scales the step's due gradient by, min(1, C / ‖g‖)
   * of its window's full-batch gradient; 1 without clipping (or without a matched window).
   */
  clipFactor: number;
}

/** What each occurrence ended up as. */
export type OccurrenceStatus = "ok" | "lost" | "leaked" | "duplicated" | "dropped";

/** One nonzero fingerprint entry of an applied step: the weight it gave one occurrence. */
export interface AppliedEntry {
  step: number;
  epoch: number;
  sample: number;
  weight: number;
}

/**
 * The applied-weight matrix that reports draw: every step's nonzero weights, and every
 * occurrence's status, expected weight and rank (indexed [epoch][sample]).
 */
export interface OccurrenceWeights {
  byStep: AppliedEntry[][];
  status: OccurrenceStatus[][];
  /**
   * units_i / units(W) of the window holding the occurrence (1/|W| under sample weighting); 0
   * when it is in none (dropped by configuration) or the sample has no loss tokens.
   */
  expected: number[][];
  /** The rank whose loader produced the occurrence (the first, when several did); -1 for none. */
  rank: number[][];
  /** Token weighting: each sample's loss tokens (absent under sample weighting). */
  lossTokens?: number[];
}

/** Why a check could not judge the trainer. */
export type CheckErrorCause =
  | {
      kind: "trainer";
      message: string;
      /** The frames of the trainer's own code the exception passed through, outermost first. */
      traceback?: TrainerFrame[];
      /** The last lines the trainer printed while it ran. */
      output?: string[];
      /** The run gave no answer within its timeout, this many milliseconds. */
      timeoutMs?: number;
    }
  | { kind: "scenario-mismatch"; field: string; sent: unknown; received: unknown }
  /** Not run: an earlier known counterexample of the same audit timed out (`timedOut`). */
  | { kind: "skipped"; timedOut: Scenario; timeoutMs: number };

/** What every check outcome names: who ran what. */
interface CheckSubject {
  trainer: string;
  trainerInfo?: TrainerInfo;
  scenario: Scenario;
  /** Milliseconds the trainer took, when the check ran it. */
  durationMs?: number;
}

/** A check that could not judge the trainer. */
export interface CheckError extends CheckSubject {
  verdict: "error";
  error: CheckErrorCause;
}

/** A judged check: the properties and what the oracle found per step and per occurrence. */
export interface CheckJudgement extends CheckSubject {
  verdict: "pass" | "fail";
  properties: PropertyResults;
  steps: StepAnalysis[];
  /** Every epoch's expected windows. */
  plan: EpochOutline[];
  weights: OccurrenceWeights;
}

/** The outcome of one trainer on one scenario. */
export type CheckOutcome = CheckError | CheckJudgement;

/** A failing trainer's shrunk scenario and how fast-check replays the search to it. */
export interface Counterexample {
  /** fast-check seed and path that replay the shrunk case. */
  seed: number;
  path: string;
  /** Number of shrink steps fast-check took. */
  shrinks: number;
  /** The check of the shrunk scenario. */
  check: CheckJudgement;
}

/** How a trainer's property search ended. */
export type SearchOutcome =
  | { kind: "passed"; casesRun: number }
  | { kind: "refuted"; casesRun: number; counterexample: Counterexample }
  | { kind: "error"; casesRun: number; check: CheckError };

/** One trainer's audit: its property search and its checks on the fixed regression scenarios. */
export interface TrainerAuditOutcome {
  trainer: string;
  trainerInfo?: TrainerInfo;
  /** The worst of the search and the regressions: a refuted property outranks an error. */
  verdict: Verdict;
  /** The smallest and largest world size the search drew ([1, 1]: single-process scenarios only). */
  worldSizes: [number, number];
  search: SearchOutcome;
  /** Checks of the regression scenarios (the known counterexamples), in the order given. */
  regressions: CheckOutcome[];
}
