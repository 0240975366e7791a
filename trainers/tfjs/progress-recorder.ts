import { microBatchesPerEpoch, type Scenario } from "../contract/scenario.js";
import type { RunProgress } from "../contract/trainer.js";
import type { Recorder } from "./recorder.js";

/** Least milliseconds between two progress reports of a run, as the Python worker sends them. */
export const PROGRESS_INTERVAL_MS = 500;

/**
 * A recorder that also tells where the run stands ({@link RunProgress}): it counts the
 * micro-batches of the epoch in progress (a forward pass with another epoch tag than the last
 * starts a new epoch at 1; a window redone counts again) and the optimizer steps, and reports at
 * the first micro-batch, then at most every {@link PROGRESS_INTERVAL_MS}. Everything else goes to
 * the recorder it wraps. One clock read per micro-batch.
 */
export class ProgressRecorder implements Recorder {
  private epoch = -1;
  private microBatch = 0;
  private steps = 0;
  private last = Number.NEGATIVE_INFINITY;
  private readonly epochs: number;
  private readonly microBatches: number;

  constructor(
    private readonly inner: Recorder,
    scenario: Scenario,
    private readonly report: (progress: RunProgress) => void,
    private readonly now: () => number = performance.now.bind(performance),
  ) {
    this.epochs = scenario.epochs;
    this.microBatches = microBatchesPerEpoch(scenario);
  }

  forward(epoch: number, samples: readonly number[]): void {
    this.inner.forward(epoch, samples);
    if (samples.length === 0) return;
    if (epoch !== this.epoch) {
      this.epoch = epoch;
      this.microBatch = 0;
    }
    this.microBatch++;
    const now = this.now();
    if (now - this.last < PROGRESS_INTERVAL_MS) return;
    this.last = now;
    this.report({
      sampling: "epochs",
      epoch,
      epochs: this.epochs,
      microBatch: this.microBatch,
      microBatches: this.microBatches,
      steps: this.steps,
    });
  }

  applied(...step: Parameters<Recorder["applied"]>): void {
    this.steps++;
    this.inner.applied(...step);
  }

  skipped(...step: Parameters<Recorder["skipped"]>): void {
    this.steps++;
    this.inner.skipped(...step);
  }

  averageValue(value: number[]): void {
    this.inner.averageValue?.(value);
  }

  outside(...change: Parameters<Recorder["outside"]>): void {
    this.inner.outside(...change);
  }

  finish(...run: Parameters<Recorder["finish"]>): ReturnType<Recorder["finish"]> {
    return this.inner.finish(...run);
  }
}
