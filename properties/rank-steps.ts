import type { Step, Trace } from "../trainers/contract/trace.js";

/** One rank's step calls, rank 0's first. */
export interface RankSteps {
  rank: number;
  steps: readonly Step[];
}

/** Every rank's step calls: rank 0's (the trace's `steps`), then each replica's. */
export function stepsByRank(trace: Trace): RankSteps[] {
  return [
    { rank: 0, steps: trace.steps },
    ...(trace.replicas ?? []).map((r) => ({ rank: r.rank, steps: r.steps })),
  ];
}
