import { lossUnits } from "../trainers/contract/probe.js";
import type { Scenario } from "../trainers/contract/scenario.js";
import type { Trace } from "../trainers/contract/trace.js";

/**
 * One window of a run that draws with replacement: K consecutive micro-batches in forward order
 * (window j holds micro-batches jK .. jK + K - 1), due at applied step j. A sample drawn twice
 * in it is due twice its weight.
 */
export interface DrawWindow {
  /** 0-based: the window is due at the run's j-th applied step. */
  index: number;
  /** Its micro-batch positions in the run's forward order, first and last (K of them). */
  microBatches: [number, number];
  /** Micro-batches of it the run drew: K, fewer when the run stopped before the rest. */
  drawn: number;
  /** Every draw's sample id, in forward order (a sample drawn twice is listed twice). */
  draws: number[];
  /** Its distinct samples, in first-drawn order. */
  samples: number[];
  /** How many times each of its samples was drawn in it. */
  drawCount: ReadonlyMap<number, number>;
  /** Loss units of every draw: its draws under sample weighting, their loss tokens under token weighting. */
  units: number;
  /** True for a window beyond the scenario's `steps`: draws the scenario does not have. */
  extra: boolean;
}

/** One draw's place: the window holding it and the step calls recorded before its forward pass. */
export interface DrawSite {
  window: number;
  /** The micro-batch's position in forward order. */
  position: number;
  stepsBefore: number;
}

/** What a correct trainer does in a run that draws with replacement, given the draws it saw. */
export interface DrawPlan {
  /** The scenario's steps: the windows a correct run applies. */
  steps: number;
  /** The drawn micro-batches, in forward order (a window redone after a skipped step counted once). */
  microBatches: Array<{ samples: number[]; stepsBefore: number }>;
  /** max(steps, the windows the draws fill): the scenario's windows, then any beyond them. */
  windows: DrawWindow[];
  /** Every draw of each sample, in forward order (absent for a sample never drawn). */
  sites: Map<number, DrawSite[]>;
  /** units[i]: what one draw of sample i counts for (1, or its loss tokens). */
  units: number[];
}

/**
 * Rank 0's forward passes in order, each window that a skipped step made the loop redo counted
 * once: the passes fed before a skipped step call whose passes the next call's repeat.
 */
function drawnMicroBatches(trace: Trace): Array<{ samples: number[]; stepsBefore: number }> {
  const passes = (trace.microBatches ?? []).filter((mb) => (mb.rank ?? 0) === 0);
  const byCall = new Map<number, typeof passes>();
  for (const mb of passes) byCall.set(mb.stepsBefore, [...(byCall.get(mb.stepsBefore) ?? []), mb]);
  const redone = new Set<number>();
  for (const [call, group] of byCall) {
    if (!trace.steps[call]?.skipped) continue;
    const next = byCall.get(call + 1) ?? [];
    const repeats = group.every((mb, k) => {
      const again = next[k]?.samples;
      return (
        again !== undefined &&
        again.length === mb.samples.length &&
        again.every((s, j) => s === mb.samples[j])
      );
    });
    if (repeats) redone.add(call);
  }
  return passes
    .filter((mb) => !redone.has(mb.stepsBefore))
    .map((mb) => ({ samples: mb.samples, stepsBefore: mb.stepsBefore }));
}

/**
 * The windows of a run that draws with replacement: the micro-batches the probe saw, K at a time
 * in forward order; the scenario has `steps` of them (those the run never drew hold no draws),
 * and windows the run drew beyond them are marked extra. Each draw counts: a sample drawn twice
 * in a window is due twice the weight of one draw, units_i / (units of every draw of the window).
 */
export function planDraws(scenario: Scenario, trace: Trace): DrawPlan {
  const steps = scenario.steps ?? 0;
  const k = scenario.accumulation;
  const units = lossUnits(scenario);
  const microBatches = drawnMicroBatches(trace);
  const count = Math.max(steps, Math.ceil(microBatches.length / k));
  const sites = new Map<number, DrawSite[]>();
  const windows: DrawWindow[] = [];
  for (let index = 0; index < count; index++) {
    const first = index * k;
    const held = microBatches.slice(first, first + k);
    const draws: number[] = [];
    const countOf = new Map<number, number>();
    let windowUnits = 0;
    held.forEach((mb, offset) => {
      for (const s of mb.samples) {
        draws.push(s);
        countOf.set(s, (countOf.get(s) ?? 0) + 1);
        windowUnits += units[s] ?? 0;
        const site = { window: index, position: first + offset, stepsBefore: mb.stepsBefore };
        const list = sites.get(s);
        if (list) list.push(site);
        else sites.set(s, [site]);
      }
    });
    windows.push({
      index,
      microBatches: [first, first + k - 1],
      drawn: held.length,
      draws,
      samples: [...countOf.keys()],
      drawCount: countOf,
      units: windowUnits,
      extra: index >= steps,
    });
  }
  return { steps, microBatches, windows, sites, units };
}

/** The first index of `sites` (in forward order) whose `key` is above `bound`, by bisection. */
export function firstSiteAbove(
  sites: readonly DrawSite[],
  key: "window" | "stepsBefore",
  bound: number,
): number {
  let [low, high] = [0, sites.length];
  while (low < high) {
    const middle = (low + high) >>> 1;
    if ((sites[middle] as DrawSite)[key] > bound) high = middle;
    else low = middle + 1;
  }
  return low;
}

/** The draws of a sample in one window, in forward order (windows and step calls only grow along them). */
export function drawSites(plan: DrawPlan, sample: number, window: number): DrawSite[] {
  const sites = plan.sites.get(sample) ?? [];
  const from = firstSiteAbove(sites, "window", window - 1);
  const to = firstSiteAbove(sites, "window", window);
  return sites.slice(from, to);
}

/** How many times a window drew a sample (0 when it did not). */
export function drawsOf(window: DrawWindow, sample: number): number {
  return window.drawCount.get(sample) ?? 0;
}

/**
 * The weight a correct step gives sample i for window W: (draws of i in W) x units_i / (units of
 * every draw of W); 0 when W has no loss units.
 */
export function dueWeight(plan: DrawPlan, window: DrawWindow, sample: number): number {
  if (window.units === 0) return 0;
  return (drawsOf(window, sample) * (plan.units[sample] ?? 0)) / window.units;
}
