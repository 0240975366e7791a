import { type DrawPlan, drawSites, planDraws } from "../reference/draw-plan.js";
import type { Dataset } from "../trainers/contract/probe.js";
import type { Trace } from "../trainers/contract/trace.js";
import { type AppliedWeights, readAppliedWeights } from "./applied-weights.js";
import { attributeDraws, type DrawAttribution } from "./draw-attribution.js";
import { checkDrawCoverage } from "./draw-coverage.js";
import { checkDrawWeighting, drawWindowRef } from "./draw-weighting.js";
import { checkDrawWindowing } from "./draw-windowing.js";
import { withNonFiniteFindings } from "./non-finite.js";
import type { CheckJudgement, EpochOutline, StepPart } from "./outcome.js";
import { checkReplicas } from "./replicas.js";
import { analyseSteps, forwardPassesBeforeSteps } from "./step-analysis.js";
import { checkStepSemantics, stepSemanticsHold } from "./step-semantics.js";
import { toleranceFor } from "./tolerance.js";
import { checkUpdates, withUpdateFindings } from "./updates.js";

/** The run's windows as reports read them: one outline (epoch 0), a window per K drawn micro-batches. */
function outlineDraws(plan: DrawPlan, k: number): EpochOutline {
  const weighted = (s: number) => (plan.units[s] ?? 0) > 0;
  return {
    epoch: 0,
    microBatches: Math.max(plan.steps * k, plan.microBatches.length),
    produced: plan.microBatches.length,
    windows: plan.windows.map((w) => ({
      index: w.index,
      microBatches: w.microBatches,
      samples: w.samples.filter(weighted).length,
      units: w.units,
      unproduced: k - w.drawn,
    })),
  };
}

/** What each step applied, window by window: the micro-batches of the window that drew what it held. */
function drawParts(
  plan: DrawPlan,
  applied: AppliedWeights,
  attribution: DrawAttribution,
): StepPart[][] {
  const weighted = (s: number) => (plan.units[s] ?? 0) > 0;
  return applied.byStep.map((entries, step) => {
    const byWindow = new Map<number | null, { samples: number; positions: Set<number> }>();
    entries.forEach((e, k) => {
      const windows = attribution.windowsOfEntry[step]?.[k] ?? [];
      for (const key of windows.length > 0 ? windows.map((w) => w.index) : [null]) {
        const part = byWindow.get(key) ?? { samples: 0, positions: new Set<number>() };
        part.samples++;
        if (key !== null)
          for (const site of drawSites(plan, e.sample, key)) part.positions.add(site.position);
        byWindow.set(key, part);
      }
    });
    return [...byWindow]
      .map(([index, { samples, positions }]): StepPart => {
        const window = index === null ? undefined : plan.windows[index];
        const held = [...positions].sort((a, b) => a - b);
        return {
          epoch: 0,
          window: index,
          windowMicroBatches: window?.microBatches ?? null,
          microBatches: [held[0] ?? -1, held[held.length - 1] ?? -1],
          microBatchCount: held.length,
          samples,
          windowSamples: window ? window.samples.filter(weighted).length : 0,
        };
      })
      .sort((a, b) => (a.window ?? -1) - (b.window ?? -1));
  });
}

/**
 * The weight one draw of each sample is due in a window of the run's mean loss units (1/(K B)
 * under sample weighting): what the applied-weight matrix divides by, since under replacement a
 * sample's due weight changes from window to window with its draws.
 */
function perDrawWeights(plan: DrawPlan, n: number): number[] {
  const full = plan.windows.filter((w) => !w.extra && w.drawn > 0 && w.units > 0);
  const mean = full.reduce((total, w) => total + w.units, 0) / Math.max(full.length, 1);
  return Array.from({ length: n }, (_, i) => (mean > 0 ? (plan.units[i] ?? 0) / mean : 0));
}

/**
 * Judges a trace of a run that draws with replacement (see reference/draw-plan.ts): coverage
 * (every draw applied exactly once), weighting (each weight (draws of i) x units_i / (the
 * window's units), the body against the float64 oracle over the window's draws) and windowing
 * (one applied step per K drawn micro-batches, `steps` of them), in the shape of every check.
 */
export function diagnoseDraws(trace: Trace, dataset: Dataset, trainer: string): CheckJudgement {
  const { scenario } = trace;
  const plan = planDraws(scenario, trace);
  const applied = readAppliedWeights(trace);
  const attribution = attributeDraws(trace, plan, applied);
  const tolerance = toleranceFor(scenario, trace.trainer.precision);
  const coverage = checkDrawCoverage(trace, plan, attribution);
  const weighting = checkDrawWeighting(trace, plan, applied, attribution, dataset, tolerance);
  const windowing = checkDrawWindowing(trace, plan, applied, attribution);
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
  const parts = drawParts(plan, applied, attribution);
  const fed = forwardPassesBeforeSteps(plan.microBatches, trace.steps.length);
  const windows = attribution.dueWindow.map((w) => (w ? drawWindowRef(w) : null));
  const steps = analyseSteps(trace, applied, weighting, windows, parts, fed);
  const n = scenario.datasetSize;
  return {
    trainer,
    trainerInfo: trace.trainer,
    scenario,
    verdict: pass ? "pass" : "fail",
    properties,
    steps,
    plan: [outlineDraws(plan, scenario.accumulation)],
    weights: {
      byStep: applied.byStep,
      status: coverage.status,
      expected: [perDrawWeights(plan, n)],
      rank: [Array.from({ length: n }, (_, i) => (plan.sites.has(i) ? 0 : -1))],
      ...(scenario.weighting === "tokens" ? { lossTokens: plan.units } : {}),
    },
  };
}
