import { distance } from "../reference/body-gradient.js";
import type { Step, Trace } from "../trainers/contract/trace.js";
import type { ReplicaFinding, ReplicasResult } from "./outcome.js";
import type { Tolerance } from "./tolerance.js";

/** A step's fingerprint weights by occurrence key `epoch:sample`. */
function weightsOf(step: Step): Map<string, number> {
  const weights = new Map<string, number>();
  const f = step.fingerprint;
  f.samples.forEach((sample, k) => {
    const key = `${f.epochs[k] ?? 0}:${sample}`;
    weights.set(key, (weights.get(key) ?? 0) + (f.weights[k] ?? 0));
  });
  return weights;
}

/** Largest |w_r - w_0| / |w_0| over the occurrences either step weights (infinite where rank 0 gave none). */
function fingerprintDifference(step: Step, reference: Step): number {
  const mine = weightsOf(step);
  const theirs = weightsOf(reference);
  let largest = 0;
  for (const key of new Set([...mine.keys(), ...theirs.keys()])) {
    const a = mine.get(key) ?? 0;
    const b = theirs.get(key) ?? 0;
    if (a === b) continue;
    largest = Math.max(largest, b === 0 ? Number.POSITIVE_INFINITY : Math.abs(a - b) / Math.abs(b));
  }
  return largest;
}

/** |g_r - g_0| / |g_0| of the body gradients; 0 without a body. */
function bodyDifference(step: Step, reference: Step): number {
  if (!step.body || !reference.body)
    return step.body === reference.body ? 0 : Number.POSITIVE_INFINITY;
  const scale = Math.hypot(...reference.body.gradient) || 1;
  return distance(step.body.gradient, reference.body.gradient) / scale;
}

/**
 * Replicas agree: in a data-parallel run every rank must take the same step calls as rank 0 and
 * apply the same gradient at each (the fingerprint weights within the weight tolerance, the body
 * gradient within the body tolerance, relative to rank 0's), or the replicas drift apart.
 */
export function checkReplicas(trace: Trace, tolerance: Tolerance): ReplicasResult {
  const findings: ReplicaFinding[] = [];
  let maxRelError = 0;
  for (const replica of trace.replicas ?? []) {
    if (replica.steps.length !== trace.steps.length)
      findings.push({
        kind: "step-count",
        rank: replica.rank,
        steps: replica.steps.length,
        expected: trace.steps.length,
      });
    replica.steps.forEach((step, index) => {
      const reference = trace.steps[index];
      if (!reference) return;
      const parts: Array<["fingerprint" | "body", number, number]> = [
        [
          "fingerprint",
          step.skipped === reference.skipped ? fingerprintDifference(step, reference) : Infinity,
          tolerance.weight,
        ],
        ["body", bodyDifference(step, reference), tolerance.body],
      ];
      for (const [part, relError, bound] of parts) {
        maxRelError = Math.max(maxRelError, relError);
        if (!(relError <= bound))
          findings.push({
            kind: "step-differs",
            rank: replica.rank,
            step: index,
            epoch: step.epoch,
            part,
            relError,
          });
      }
    });
  }
  return {
    ok: findings.length === 0,
    ranks: trace.scenario.worldSize,
    maxRelError,
    tolerance: tolerance.weight,
    findings,
  };
}
