import { expectRun } from "../reference/expectation.js";
import type { Dataset } from "../trainers/contract/probe.js";
import type { Trace } from "../trainers/contract/trace.js";
import { readAppliedWeights } from "./applied-weights.js";
import { checkCoverage } from "./coverage.js";
import type { CheckJudgement, StepAnalysis } from "./outcome.js";
import { checkReplicas } from "./replicas.js";
import { matchStepsToWindows, windowRef } from "./step-windows.js";
import { toleranceFor } from "./tolerance.js";
import { checkWeighting } from "./weighting.js";
import { checkWindowing } from "./windowing.js";

/**
 * Judges a trace against the oracle: coverage, weighting and windowing with their findings, plus
 * the per-step and per-occurrence data that reports draw. The trace's scenario is the one
 * checked; the verdict is "fail" exactly when a property has a failing finding.
 */
export function diagnoseTrace(
  trace: Trace,
  dataset: Dataset,
  trainerName = trace.trainer.name,
): CheckJudgement {
  const scenario = trace.scenario;
  const expectation = expectRun(scenario, trace);
  const applied = readAppliedWeights(trace);
  const matches = matchStepsToWindows(expectation, applied);
  const coverage = checkCoverage(trace, expectation, applied);
  const weighting = checkWeighting(
    trace,
    expectation,
    applied,
    matches,
    dataset,
    toleranceFor(scenario, trace.trainer.precision),
  );
  const tolerance = toleranceFor(scenario, trace.trainer.precision);
  const windowing = checkWindowing(trace, expectation, applied);
  const replicas = checkReplicas(trace, tolerance);
  const properties = {
    coverage: coverage.result,
    weighting: weighting.result,
    windowing,
    replicas,
  };
  const pass = coverage.result.ok && weighting.result.ok && windowing.ok && replicas.ok;
  const fed = new Array<number>(trace.steps.length).fill(0);
  for (const mb of trace.microBatches ?? [])
    if ((mb.rank ?? 0) === 0 && mb.stepsBefore < fed.length)
      fed[mb.stepsBefore] = (fed[mb.stepsBefore] ?? 0) + 1;
  const steps: StepAnalysis[] = trace.steps.map((step, index) => {
    const window = matches[index]?.window;
    return {
      step: index,
      epoch: step.epoch,
      skipped: step.skipped,
      lossScale: step.lossScale ?? null,
      samples: applied.byStep[index]?.length ?? 0,
      microBatches: fed[index] ?? 0,
      window: window ? windowRef(window) : null,
      weightRelError: weighting.stepWeightError[index] ?? 0,
      weightSpread: weighting.stepWeightSpread[index] ?? 0,
      bodyRelError: weighting.stepBodyError[index] ?? null,
    };
  });
  return {
    trainer: trainerName,
    trainerInfo: trace.trainer,
    scenario,
    verdict: pass ? "pass" : "fail",
    properties,
    steps,
    weights: {
      byStep: applied.byStep,
      status: coverage.status,
      expected: expectation.expectedWeight,
      rank: expectation.rankOf,
      ...(scenario.weighting === "tokens" ? { lossTokens: expectation.units } : {}),
    },
  };
}
