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
    const counts = new Map<ExpectedWindow, number>();
    for (const e of entries) {
      const window = expectation.windowOf[e.epoch]?.[e.sample];
      if (window) counts.set(window, (counts.get(window) ?? 0) + 1);
    }
    let best: StepWindow = { window: null, shared: 0 };
    for (const [window, shared] of counts) if (shared > best.shared) best = { window, shared };
    return best;
  });
}
