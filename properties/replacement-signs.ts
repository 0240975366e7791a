import type { Expectation } from "../reference/expectation.js";
import type { Trace } from "../trainers/contract/trace.js";
import type { CoverageFinding } from "./outcome.js";
import { sampleSet } from "./sample-set.js";

type DrawnWithReplacement = Extract<CoverageFinding, { kind: "drawn-with-replacement" }>;

/**
 * Epochs whose forward passes show a loop that draws with replacement: on one rank a sample fed
 * by two different micro-batches, or twice by one, while other samples were never fed in the
 * epoch. A micro-batch fed again whole (a redone window) is not a draw: the epoch's plan counts it
 * once already, and a sample a padded shard repeats on another rank is on two ranks, not one.
 * One finding per such epoch, naming its first repeated sample.
 */
export function drawnWithReplacement(
  trace: Trace,
  expectation: Expectation,
): DrawnWithReplacement[] {
  const n = trace.scenario.datasetSize;
  const appliedSteps = trace.steps.filter((s) => !s.skipped).length;
  const findings: DrawnWithReplacement[] = [];
  for (const plan of expectation.plans) {
    if (plan.source !== "observed" || plan.unseen.length === 0) continue;
    let first: Pick<DrawnWithReplacement, "rank" | "sample" | "microBatches"> | null = null;
    const repeated: number[] = [];
    plan.byRank.forEach((mbs, rank) => {
      const firstAt = new Int32Array(n).fill(-1);
      const counted = new Uint8Array(n);
      mbs.forEach((mb, position) => {
        for (const s of mb) {
          if (!Number.isInteger(s) || s < 0 || s >= n) continue;
          const earlier = firstAt[s] ?? -1;
          if (earlier < 0) {
            firstAt[s] = position;
            continue;
          }
          if (counted[s] === 0) repeated.push(s);
          counted[s] = 1;
          first ??= { rank, sample: s, microBatches: [earlier, position] };
        }
      });
    });
    if (first === null) continue;
    findings.push({
      kind: "drawn-with-replacement",
      epoch: plan.epoch,
      ...(first as Pick<DrawnWithReplacement, "rank" | "sample" | "microBatches">),
      samples: sampleSet(repeated),
      neverDrawn: plan.unseen.length,
      appliedSteps,
    });
  }
  return findings;
}
