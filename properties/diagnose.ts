import { expectRun } from "../reference/expectation.js";
import type { Dataset } from "../trainers/contract/probe.js";
import type { Trace } from "../trainers/contract/trace.js";
import { readAppliedWeights } from "./applied-weights.js";
import { checkCoverage } from "./coverage.js";
import { diagnoseDraws } from "./diagnose-draws.js";
import { withNonFiniteFindings } from "./non-finite.js";
import type { CheckJudgement } from "./outcome.js";
import { checkReplicas } from "./replicas.js";
import { analyseSteps, forwardPassesBeforeSteps } from "./step-analysis.js";
import { stepEpochs, withStepEpochs } from "./step-epochs.js";
import { outlineEpochs, stepParts } from "./step-parts.js";
import { checkStepSemantics, stepSemanticsHold } from "./step-semantics.js";
import { matchStepsToWindows, windowRef } from "./step-windows.js";
import { toleranceFor } from "./tolerance.js";
import { checkUpdates, withUpdateFindings } from "./updates.js";
import { checkWeighting } from "./weighting.js";
import { checkWindowing } from "./windowing.js";

/**
 * Judges a trace against the oracle: coverage, weighting and windowing with their findings, plus
 * the per-step and per-occurrence data that reports draw. Every step's epoch is the one its
 * applied samples belong to (see step-epochs.ts), not the tag the model carried at `step()`. The trace's scenario is the one
 * checked; the verdict is "fail" exactly when a property has a failing finding. A run that draws
 * with replacement (`sampling: "replacement"`) is judged by its draws instead (diagnose-draws.ts).
 */
export function diagnoseTrace(
  recorded: Trace,
  dataset: Dataset,
  trainerName = recorded.trainer.name,
): CheckJudgement {
  const scenario = recorded.scenario;
  // A run that draws with replacement has no epochs: its windows are its draws, K micro-batches at a time.
  if (scenario.sampling === "replacement") return diagnoseDraws(recorded, dataset, trainerName);
  const applied = readAppliedWeights(recorded);
  const trace = withStepEpochs(recorded, stepEpochs(recorded, applied));
  const expectation = expectRun(scenario, trace);
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
  const updates = checkUpdates(trace, trace.trainer.precision ?? scenario.precision);
  const properties = {
    coverage: coverage.result,
    weighting: withNonFiniteFindings(withUpdateFindings(weighting.result, updates), trace),
    windowing,
    replicas,
    ...checkStepSemantics(trace),
  };
  const pass =
    coverage.result.ok &&
    properties.weighting.ok &&
    windowing.ok &&
    replicas.ok &&
    stepSemanticsHold(properties);
  const parts = stepParts(expectation, applied, matches, pass);
  const fed = forwardPassesBeforeSteps(trace.microBatches ?? [], trace.steps.length);
  const windows = matches.map((m) => (m.window ? windowRef(m.window) : null));
  const steps = analyseSteps(trace, applied, weighting, windows, parts, fed);
  return {
    trainer: trainerName,
    trainerInfo: trace.trainer,
    scenario,
    verdict: pass ? "pass" : "fail",
    properties,
    steps,
    plan: outlineEpochs(expectation),
    weights: {
      byStep: applied.byStep,
      status: coverage.status,
      expected: expectation.expectedWeight,
      rank: expectation.rankOf,
      ...(scenario.weighting === "tokens" ? { lossTokens: expectation.units } : {}),
    },
  };
}
