import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { availableParallelism, tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { auditTrainer } from "../properties/audit.js";
import type { RunOptions } from "../trainers/contract/trainer.js";
import {
  disposePythonWorkers,
  setPythonWorkerPoolSize,
} from "../trainers/external/python-trainer.js";
import { resolveTrainer } from "../trainers/registry.js";
import { disposeTfjsThreads, setTfjsThreadPoolSize } from "../trainers/tfjs/thread-pool.js";
import { CLI } from "./scaling.js";

/** Search throughput of one audit at one --jobs value. */
export interface JobsFigures {
  jobs: number;
  /** Cases the search and its shrinking ran. */
  cases: number;
  seconds: number;
  casesPerSecond: number;
}

/**
 * Times the property search of a trainer at each jobs value, same seed: cases per second. A
 * python: trainer runs on that many worker processes, a built-in one on that many TensorFlow.js
 * threads (1: the main thread); workers and threads are started and warmed by an untimed audit
 * of `warmupRuns` cases beforehand, and reused. For a
 * trainer that passes, every generated case runs; for one refuted, the search stops at the
 * first failing case and shrinks it one case at a time, so jobs speed up only the search part.
 */
export async function measureSearchJobs(options: {
  trainer: string;
  runs: number;
  /**
   * Cases of the untimed audit before each timed one (another seed; default `runs`), which starts
   * every worker or thread and lets the JavaScript engine compile the code a case runs.
   */
  warmupRuns?: number;
  jobs?: number[];
  runOptions?: RunOptions;
}): Promise<JobsFigures[]> {
  const jobsList = options.jobs ?? [1, Math.min(availableParallelism(), 4)];
  const figures: JobsFigures[] = [];
  try {
    for (const jobs of jobsList) {
      setPythonWorkerPoolSize(jobs);
      setTfjsThreadPoolSize(jobs);
      const trainer = resolveTrainer(options.trainer);
      const runOptions = options.runOptions ?? {};
      // Warm every worker or thread of the pool first, so the timing holds the search only.
      const warmupRuns = Math.max(options.warmupRuns ?? options.runs, jobs * 2);
      await auditTrainer(trainer, { runs: warmupRuns, seed: 1, jobs, runOptions });
      let cases = 0;
      const started = performance.now();
      await auditTrainer(trainer, {
        runs: options.runs,
        seed: 2,
        jobs,
        runOptions,
        onProgress: (p) => {
          if (p.state === "finished" && p.phase !== "regressions") cases++;
        },
      });
      const seconds = (performance.now() - started) / 1000;
      figures.push({ jobs, cases, seconds, casesPerSecond: cases / seconds });
    }
  } finally {
    setPythonWorkerPoolSize(1);
    setTfjsThreadPoolSize(1);
    await Promise.all([disposePythonWorkers(), disposeTfjsThreads()]);
  }
  return figures;
}

/** A whole audit in a fresh process, as a user runs it. */
export interface FreshAuditFigures {
  trainer: string;
  runs: number;
  /** Wall time of the command: start-up, worker start, mission scenarios, search, report. */
  seconds: number;
  /** Generated cases (all of them for a trainer that passes) per second of that time. */
  casesPerSecond: number;
  exitCode: number | null;
}

/** Times `accumaudit audit --trainer T --runs R --report FILE` in a process of its own. */
export function measureFreshAudit(trainer: string, runs: number): FreshAuditFigures {
  const folder = mkdtempSync(join(tmpdir(), "accumaudit-fresh-audit-"));
  try {
    const started = performance.now();
    const run = spawnSync(
      process.execPath,
      [
        CLI,
        "audit",
        "--trainer",
        trainer,
        "--runs",
        String(runs),
        "--report",
        join(folder, "report.html"),
      ],
      { stdio: "ignore" },
    );
    const seconds = (performance.now() - started) / 1000;
    return { trainer, runs, seconds, casesPerSecond: runs / seconds, exitCode: run.status };
  } finally {
    rmSync(folder, { recursive: true, force: true });
  }
}
