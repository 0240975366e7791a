import { type Scenario, STEP_SCHEDULE_GAMMA } from "../contract/scenario.js";

/** What a schedule needs: its kind, its warm-up steps and the steps it spans. */
export interface ScheduleShape {
  schedule: Scenario["schedule"];
  warmupSteps: number;
  /** Optimizer steps the run will apply (`num_training_steps`). */
  totalSteps: number;
}

/**
 * The learning rate's multiplier after `s` scheduler steps, as transformers' schedules with
 * warm-up compute it: s / w during the w warm-up steps, then constant 1, linear or cosine decay to
 * 0 at `totalSteps`, or 0.9^(s - w) (torch's StepLR, step size 1).
 */
export function scheduleMultiplier(shape: ScheduleShape, s: number): number {
  const { warmupSteps: w, totalSteps: total } = shape;
  if (s < w) return s / Math.max(1, w);
  const span = Math.max(1, total - w);
  switch (shape.schedule) {
    case "constant":
      return 1;
    case "linear":
      return Math.max(0, (total - s) / span);
    case "cosine":
      return Math.max(0, 0.5 * (1 + Math.cos((Math.PI * (s - w)) / span)));
    case "step":
      return STEP_SCHEDULE_GAMMA ** (s - w);
  }
}

/** Whatever holds the learning rate a scheduler sets (the optimizer's param group). */
export interface HasLearningRate {
  learningRate: number;
}

/**
 * A learning-rate scheduler as torch's `LambdaLR` over {@link scheduleMultiplier}: it sets the
 * optimizer's rate to base x f(0) when built, and to base x f(s) at its s-th {@link step}. Call
 * `step()` once after each applied optimizer step.
 */
export class LearningRateScheduler {
  private steps = 0;

  constructor(
    private readonly optimizer: HasLearningRate,
    private readonly baseRate: number,
    private readonly shape: ScheduleShape,
  ) {
    optimizer.learningRate = this.rateAt(0);
  }

  /** `scheduler.step()`: moves the optimizer's rate to the next step's. */
  step(): void {
    this.steps += 1;
    this.optimizer.learningRate = this.rateAt(this.steps);
  }

  /** How many times {@link step} was called (`scheduler.last_epoch`). */
  get stepsTaken(): number {
    return this.steps;
  }

  /** The rate after `s` scheduler steps. */
  rateAt(s: number): number {
    return this.baseRate * scheduleMultiplier(this.shape, s);
  }
}

/**
 * The optimizer steps a run of `epochs` epochs applies over a loader of `loaderLength`
 * micro-batches, stepping every `accumulation` of them with the epoch's tail flushed, as a script
 * computes `num_training_steps`.
 */
export function trainingSteps(epochs: number, loaderLength: number, accumulation: number): number {
  return epochs * Math.ceil(loaderLength / accumulation);
}
