import type { RunOptions, RunProgress } from "../trainers/contract/trainer.js";
import type { Verdict } from "./outcome.js";

/** Progress of a trainer's audit, or of one check: a case starts, a case finishes. */
export interface AuditProgress {
  trainer: string;
  phase: "check" | "regressions" | "search" | "shrink";
  /** The case of this phase that started or finished, counted from 1. */
  cases: number;
  /** Cases the phase runs at most (shrinking has no bound). */
  runs: number;
  state: "started" | "finished";
  /** How the finished case ended. */
  verdict?: Verdict;
}

/** Where the training of a running case stands, as its trainer reports it while it runs. */
export interface CaseProgress {
  trainer: string;
  phase: AuditProgress["phase"];
  /** The running case of this phase, counted from 1 (as its "started" {@link AuditProgress}). */
  cases: number;
  runs: number;
  run: RunProgress;
}

/**
 * The run options of one case: the audit's, with the trainer's progress passed on as the case's
 * when `report` listens.
 */
export function caseRunOptions(
  runOptions: RunOptions | undefined,
  progress: Omit<CaseProgress, "run">,
  report: ((progress: CaseProgress) => void) | undefined,
): RunOptions | undefined {
  if (!report) return runOptions;
  return { ...runOptions, onProgress: (run) => report({ ...progress, run }) };
}
