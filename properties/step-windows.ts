import type { ExpectedWindow } from "../reference/epoch-plan.js";
import type { Expectation } from "../reference/expectation.js";
import type { AppliedWeights } from "./applied-weights.js";
import type { WindowRef } from "./outcome.js";

/** An expected window as findings name it. */
export function windowRef(window: ExpectedWindow): WindowRef {
  return {
    epoch: window.epoch,
    index: window.index,
    size: window.samples.length,
    units: window.units,
  };
}

/** The expected window an applied step matches best. */
export interface StepWindow {
  window: ExpectedWindow | null;
  /** Occurrences the step shares with that window. */
  shared: number;
}

/** For each step, the expected window holding most of the step's weighted occurrences. */
export function matchStepsToWindows(
  expectation: Expectation,
  applied: AppliedWeights,
): StepWindow[] {
  return applied.byStep.map((entries) => {
    // Most steps hold one window's occurrences only: a map of counts is made at the second window.
    let only: StepWindow = { window: null, shared: 0 };
    let counts: Map<ExpectedWindow, number> | undefined;
    for (const e of entries) {
      const window = expectation.windowOf[e.epoch]?.[e.sample];
      if (!window) continue;
      if (counts) counts.set(window, (counts.get(window) ?? 0) + 1);
      else if (only.window === null || only.window === window)
        only = { window, shared: only.shared + 1 };
      else
        counts = new Map([
          [only.window, only.shared],
          [window, 1],
        ]);
    }
    if (!counts) return only;
    let best: StepWindow = { window: null, shared: 0 };
    for (const [window, shared] of counts) if (shared > best.shared) best = { window, shared };
    return best;
  });
}
