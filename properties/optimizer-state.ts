import type { Trace } from "../trainers/contract/trace.js";
import {
  type OptimizerStateFinding,
  type OptimizerStateResult,
  optimizerStateApplies,
} from "./outcome.js";
import { stepsByRank } from "./rank-steps.js";

/**
 * Optimizer state: after every step call, the optimizer's own step count (`optimizerSteps`, as
 * AdamW keeps it) equals the rank's applied steps so far: it does not advance on a skipped step,
 * nor more than once per applied one. Applies when the scenario asks for AdamW or an overflow; a
 * rank that recorded no count at all under AdamW fails (`count-unknown`), since nothing shows it right.
 */
export function checkOptimizerState(trace: Trace): OptimizerStateResult {
  const scenario = trace.scenario;
  const applies = optimizerStateApplies(scenario);
  const findings: OptimizerStateFinding[] = [];
  let counted: number | null = null;
  let rankZeroApplied = 0;
  for (const { rank, steps } of stepsByRank(trace)) {
    let applied = 0;
    let recorded = 0;
    steps.forEach((step, index) => {
      if (!step.skipped) applied++;
      if (step.optimizerSteps === undefined) return;
      recorded++;
      if (rank === 0) counted = step.optimizerSteps;
      if (applies && step.optimizerSteps !== applied)
        findings.push({
          kind: "step-count",
          rank,
          step: index,
          epoch: step.epoch,
          skipped: step.skipped,
          expected: applied,
          counted: step.optimizerSteps,
        });
    });
    if (rank === 0) rankZeroApplied = applied;
    if (applies && scenario.optimizer !== "sgd" && recorded === 0 && steps.length > 0)
      findings.push({ kind: "count-unknown", rank, steps: steps.length });
  }
  return {
    ok: findings.length === 0,
    applies,
    counted,
    appliedSteps: rankZeroApplied,
    findings,
  };
}
