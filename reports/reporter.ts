import type { AuditProgress, CaseProgress } from "../properties/audit.js";
import type { CheckOutcome, TrainerAuditOutcome } from "../properties/outcome.js";
import type { ScenarioPins } from "../properties/pinned-size.js";
import type { RegressionLeftOut } from "../properties/regressions.js";
import type { Scenario } from "../trainers/contract/scenario.js";

/** How and where a run's outcomes were produced; shown in reports' run metadata. */
export interface RunMeta {
  /** accumaudit version that ran the audit or check. */
  harnessVersion: string;
  /** When the run started (ISO 8601). */
  date: string;
  /** Compute backend of the built-in trainers, e.g. cpu, wasm, webgpu. */
  backend: string;
  /** Device of external trainers, e.g. cpu or cuda. */
  device?: string;
  /** Numeric precision(s) of the run, e.g. fp32 or "fp32, fp16". */
  precision: string;
  /** What the weighting checks held equal: "samples", "tokens" or "samples, tokens". */
  weighting?: string;
  /** fast-check seed of an audit. */
  seed?: number;
  /** Scenarios generated per trainer in an audit. */
  runs?: number;
  /** The command line that started the run, each word shell-quoted. */
  command?: string;
}

/** The command that replays one trainer on one scenario (made by the command line, which knows its flags). */
export type ReplayCommand = (trainer: string, scenario: Scenario) => string;

/** What a reporter learns when a run starts. */
export interface RunStart {
  kind: "audit" | "check";
  meta: RunMeta;
  /** The trainers the run will check, in order. */
  trainers: readonly string[];
  replay: ReplayCommand;
  /**
   * How a counterexample's search is replayed (an audit): the command line's `--seed S --path P`
   * with the flags that shaped the search, pins included. Without it, `--seed S --path P`.
   */
  searchReplay?: (seed: number, path: string) => string;
  /** The scenario fields an audit held at a value in every generated scenario (none: `{}` or absent). */
  pinned?: ScenarioPins;
  /** The known counterexamples an audit left out because the pins took away what they check. */
  regressionsLeftOut?: readonly RegressionLeftOut[];
}

/** A run that a signal ended early: what it had done and what it had not reached. */
export interface Interrupted {
  signal: string;
  /** Trainers whose audit was complete. */
  completed: number;
  total: number;
  /** Trainers not audited (the one in progress included). */
  notReached: readonly string[];
}

/** What a reporter learns when a run ends. */
export interface RunEnd {
  /** Every trainer's audit (empty for a check). */
  audits: readonly TrainerAuditOutcome[];
  /** The check's outcome (for a check). */
  check?: CheckOutcome;
  /** Present when a signal ended the run early. */
  interrupted?: Interrupted;
}

/**
 * Receives a run's outcomes as they come: text, JSON, HTML, JUnit and the progress line are
 * each one. A reporter formats; it never runs anything.
 */
export interface Reporter {
  onRunStart?(run: RunStart): void | Promise<void>;
  /** Where a trainer's audit stands (cases run, shrinking). */
  onProgress?(progress: AuditProgress): void;
  /** Where a running case's training stands (epoch, micro-batch), as its trainer reports it. */
  onCaseProgress?(progress: CaseProgress): void;
  /** A trainer's audit is complete. */
  onTrainerEnd?(audit: TrainerAuditOutcome): void | Promise<void>;
  /** A check (one trainer, one scenario) is complete. */
  onCheckEnd?(check: CheckOutcome): void | Promise<void>;
  onRunEnd?(end: RunEnd): void | Promise<void>;
}

/** One reporter that passes every event to each of `reporters`, in order. */
export function combineReporters(reporters: readonly Reporter[]): Required<Reporter> {
  return {
    async onRunStart(run) {
      for (const r of reporters) await r.onRunStart?.(run);
    },
    onProgress(progress) {
      for (const r of reporters) r.onProgress?.(progress);
    },
    onCaseProgress(progress) {
      for (const r of reporters) r.onCaseProgress?.(progress);
    },
    async onTrainerEnd(audit) {
      for (const r of reporters) await r.onTrainerEnd?.(audit);
    },
    async onCheckEnd(check) {
      for (const r of reporters) await r.onCheckEnd?.(check);
    },
    async onRunEnd(end) {
      for (const r of reporters) await r.onRunEnd?.(end);
    },
  };
}
