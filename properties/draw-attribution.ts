import { type DrawPlan, type DrawWindow, firstSiteAbove } from "../reference/draw-plan.js";
import type { Trace } from "../trainers/contract/trace.js";
import type { AppliedWeights } from "./applied-weights.js";

/**
 * Which windows' draws each applied weight of a run that draws with replacement stands for, and
 * so which steps applied each window's draws of each sample. The fingerprint shows a step's total
 * weight per sample, not per draw, so a weight is read as the draws it can be. A step call applies
 * what was fed into the gradient since the step call before it: a weight stands for the sample's
 * draws fed in that stretch, whatever windows hold them. Without such a draw it stands for the
 * sample's latest draw fed before (a gradient not cleared after its step leaks into the next);
 * without that, for none.
 */
export interface DrawAttribution {
  /** dueWindow[step]: the window the step call is due (window j for the j-th applied step); null when skipped or beyond the windows. */
  dueWindow: Array<DrawWindow | null>;
  /** windowsOfEntry[step][k]: the windows whose draws entry k of the step's applied weights stands for (none: empty). */
  windowsOfEntry: DrawWindow[][][];
  /** holders[window].get(sample): the applied steps that applied the window's draws of the sample, in order. */
  holders: Array<Map<number, number[]>>;
}

/** The windows a weight of step call `call` on `sample` stands for (see {@link DrawAttribution}). */
function windowsApplied(plan: DrawPlan, sample: number, call: number): DrawWindow[] {
  // Sites are in forward order: their windows and step calls only grow.
  const sites = plan.sites.get(sample) ?? [];
  const from = firstSiteAbove(sites, "stepsBefore", call - 1);
  const to = firstSiteAbove(sites, "stepsBefore", call);
  const fresh = sites.slice(from, to);
  const latest = sites[from - 1];
  const indices =
    fresh.length > 0
      ? [...new Set(fresh.map((site) => site.window))]
      : latest
        ? [latest.window]
        : [];
  return indices.flatMap((index) => plan.windows[index] ?? []);
}

/** Reads every applied weight of the trace as the draws of the windows it stands for. */
export function attributeDraws(
  trace: Trace,
  plan: DrawPlan,
  applied: AppliedWeights,
): DrawAttribution {
  const dueWindow: Array<DrawWindow | null> = [];
  let appliedSoFar = 0;
  for (const step of trace.steps) {
    dueWindow.push(step.skipped ? null : (plan.windows[appliedSoFar] ?? null));
    if (!step.skipped) appliedSoFar++;
  }
  const holders = plan.windows.map(() => new Map<number, number[]>());
  const windowsOfEntry = applied.byStep.map((entries, step) =>
    entries.map((e) => {
      const windows = windowsApplied(plan, e.sample, step);
      for (const window of windows) {
        const held = holders[window.index] as Map<number, number[]>;
        held.set(e.sample, [...(held.get(e.sample) ?? []), step]);
      }
      return windows;
    }),
  );
  return { dueWindow, windowsOfEntry, holders };
}
