import { availableParallelism } from "node:os";
import { performance } from "node:perf_hooks";
import { auditTrainer } from "../properties/audit.js";
import {
  createPythonTrainer,
  disposePythonWorkers,
  setPythonWorkerPoolSize,
} from "../trainers/external/python-trainer.js";

/** Search throughput of one audit at one --jobs value. */
export interface JobsFigures {
  jobs: number;
  cases: number;
  seconds: number;
  casesPerSecond: number;
}

/**
 * Times the property search of a passing Python trainer (every generated case runs) at each
 * jobs value, workers started beforehand and reused, same seed: cases per second.
 */
export async function measureSearchJobs(options: {
  trainer: string;
  runs: number;
  jobs?: number[];
}): Promise<JobsFigures[]> {
  const jobsList = options.jobs ?? [1, Math.min(availableParallelism(), 4)];
  const figures: JobsFigures[] = [];
  try {
    for (const jobs of jobsList) {
      setPythonWorkerPoolSize(jobs);
      const trainer = createPythonTrainer(options.trainer);
      // Warm every worker of the pool first, so the timing holds the search only.
      await auditTrainer(trainer, { runs: jobs * 2, seed: 1, jobs });
      const started = performance.now();
      const audit = await auditTrainer(trainer, { runs: options.runs, seed: 2, jobs });
      const seconds = (performance.now() - started) / 1000;
      const cases = audit.search.casesRun;
      figures.push({ jobs, cases, seconds, casesPerSecond: cases / seconds });
    }
  } finally {
    setPythonWorkerPoolSize(1);
    await disposePythonWorkers();
  }
  return figures;
}
