import { availableParallelism } from "node:os";
import { performance } from "node:perf_hooks";
import { auditTrainer } from "../properties/audit.js";
import type { RunOptions } from "../trainers/contract/trainer.js";
import {
  disposePythonWorkers,
  setPythonWorkerPoolSize,
} from "../trainers/external/python-trainer.js";
import { resolveTrainer } from "../trainers/registry.js";
import { disposeTfjsThreads, setTfjsThreadPoolSize } from "../trainers/tfjs/thread-pool.js";

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
 * threads (1: the main thread); workers and threads are started beforehand and reused. For a
 * trainer that passes, every generated case runs; for one refuted, the search stops at the
 * first failing case and shrinks it one case at a time, so jobs speed up only the search part.
 */
export async function measureSearchJobs(options: {
  trainer: string;
  runs: number;
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
      await auditTrainer(trainer, { runs: jobs * 2, seed: 1, jobs, runOptions });
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
