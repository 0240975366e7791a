import type { ReplicaFinding, ReplicasResult } from "../../properties/outcome.js";
import { formatNumber, plural, stepName } from "../words.js";

type StepDiffers = Extract<ReplicaFinding, { kind: "step-differs" }>;

function differs(f: StepDiffers): string {
  const what = f.part === "fingerprint" ? "fingerprint weights" : "body gradient";
  return `at ${stepName(f.step, f.epoch)} rank ${f.rank}'s ${what} differ from rank 0's by ${formatNumber(f.relError)} relative`;
}

/**
 * Replicas in one line: every rank applied rank 0's gradient at every step, or the first rank
 * whose step count or step differs, with the number of differing steps.
 */
export function replicasMessage(result: ReplicasResult): string {
  if (result.ranks === 1) return "one rank, nothing to compare";
  if (result.ok)
    return `all ${result.ranks} ranks applied the same gradient at every step (within ${formatNumber(result.maxRelError)} of rank 0's; tolerance ${formatNumber(result.tolerance)})`;
  const parts: string[] = [];
  for (const f of result.findings)
    if (f.kind === "step-count")
      parts.push(
        `rank ${f.rank} took ${plural(f.steps, "step call")} where rank 0 took ${f.expected}`,
      );
  const steps = result.findings.filter((f): f is StepDiffers => f.kind === "step-differs");
  const first = steps[0];
  if (first) {
    const more = steps.length > 1 ? ` (${plural(steps.length, "difference")} in all)` : "";
    parts.push(`${differs(first)} > tolerance${more}`);
  }
  return parts.join("; ");
}
