import type { AuditProgress, CaseProgress } from "../properties/audit.js";
import type { RunProgress } from "../trainers/contract/trainer.js";
import { printable } from "./printable.js";
import type { Reporter } from "./reporter.js";
import {
  formatClock,
  type ProgressSample,
  runFraction,
  runPosition,
  secondsLeft,
} from "./run-progress.js";

function describe(p: AuditProgress): string {
  switch (p.phase) {
    case "check":
      return "checking";
    case "regressions":
      return `known counterexample ${p.cases} of ${p.runs}`;
    case "search":
      return `case ${p.cases} of ${p.runs}`;
    case "shrink":
      return `shrinking, case ${p.cases}`;
  }
}

/** Seconds a case runs before the line says for how long. */
const HEARTBEAT_AFTER_S = 2;
/** Milliseconds between two rewrites of a running case's line. */
const BEAT_MS = 1000;

/** A case in progress: when it started and, once its trainer has said, where its training stands. */
interface RunningCase {
  progress: AuditProgress;
  since: number;
  run?: { progress: RunProgress; first: ProgressSample; latest: ProgressSample };
}

/**
 * A one-line progress display on a terminal's stderr; silent elsewhere. While a case runs it
 * beats every second, from its second second: "python:my_loop: case 3 of 100, running for 40 s";
 * once the trainer reports where the case's training stands, with that and an estimate of the
 * time left: "python:reference: checking, epoch 2/3, micro-batch 120,000/300,000, 1:05 elapsed,
 * about 1:40 left".
 */
export class ProgressLine implements Reporter {
  private readonly active: boolean;
  private lastWrite = 0;
  private lastBeat = Number.NEGATIVE_INFINITY;
  private running: RunningCase | undefined;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    enabled: boolean,
    private readonly stream: NodeJS.WriteStream = process.stderr,
    private readonly now: () => number = Date.now,
  ) {
    this.active = enabled && stream.isTTY === true;
  }

  /** Shows where a trainer's audit stands (at most ten updates a second). */
  onProgress(p: AuditProgress): void {
    if (!this.active) return;
    this.running = p.state === "started" ? { progress: p, since: this.now() } : undefined;
    if (this.running && !this.timer) {
      this.timer = setInterval(() => this.beat(), BEAT_MS);
      this.timer.unref();
    }
    const now = this.now();
    if (now - this.lastWrite < 100) return;
    this.lastWrite = now;
    this.write(`${printable(p.trainer)}: ${describe(p)}`);
  }

  /**
   * Keeps where the running case's training stands (a report of another case, one of an audit's
   * parallel jobs, is not shown), and rewrites the line when it has not for a second: a trainer
   * that trains in this thread keeps the timer from beating.
   */
  onCaseProgress(p: CaseProgress): void {
    const running = this.running;
    if (!this.active || !running) return;
    const { progress } = running;
    if (p.trainer !== progress.trainer || p.phase !== progress.phase || p.cases !== progress.cases)
      return;
    const now = this.now();
    const sample = { at: now, fraction: runFraction(p.run) ?? 0 };
    running.run = { progress: p.run, first: running.run?.first ?? sample, latest: sample };
    if (now - this.lastBeat >= BEAT_MS) this.beat();
  }

  /** Rewrites the line of a case running for a while with how long it has run (and how long it may still run). */
  beat(): void {
    if (!this.active || !this.running) return;
    const now = this.now();
    const elapsed = (now - this.running.since) / 1000;
    if (elapsed < HEARTBEAT_AFTER_S) return;
    this.lastBeat = now;
    const { progress, run } = this.running;
    const head = `${printable(progress.trainer)}: ${describe(progress)}`;
    if (!run) {
      this.write(`${head}, running for ${Math.floor(elapsed)} s`);
      return;
    }
    const left = secondsLeft(run.first, run.latest, now);
    // Past the estimate the run is finishing: its last micro-batches, its trace, the check.
    const estimate =
      left === undefined
        ? ""
        : left < 1
          ? ", finishing"
          : `, about ${formatClock(Math.ceil(left))} left`;
    this.write(`${head}, ${runPosition(run.progress)}, ${formatClock(elapsed)} elapsed${estimate}`);
  }

  /** Removes the line before a trainer's result is printed. */
  onTrainerEnd(): void {
    this.clear();
  }

  onCheckEnd(): void {
    this.clear();
  }

  onRunEnd(): void {
    this.clear();
  }

  private clear(): void {
    this.running = undefined;
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    if (this.active) this.stream.write("\r\x1b[2K");
  }

  private write(text: string): void {
    const width =
      this.stream.columns && this.stream.columns > 1 ? this.stream.columns - 1 : text.length;
    this.stream.write(`\r\x1b[2K${text.slice(0, width)}`);
  }
}
