import type { Scenario } from "../trainers/contract/scenario.js";
import type { Trace } from "../trainers/contract/trace.js";
import { type EpochPlan, type ExpectedWindow, planEpochs } from "./epoch-plan.js";

/** What should have happened in a run: the windows and each occurrence's weight 1/|W|. */
export interface Expectation {
  plans: EpochPlan[];
  /** windowOf[e][i]: the window holding sample i in epoch e, or null (dropped or never produced). */
  windowOf: Array<Array<ExpectedWindow | null>>;
  /** expectedWeight[e][i] = 1/|W| for the window holding (e, i); 0 without a window. */
  expectedWeight: number[][];
}

/** The oracle's expectation for a trace of the scenario. */
export function expectRun(scenario: Scenario, trace: Trace): Expectation {
  const plans = planEpochs(scenario, trace);
  const windowOf = plans.map((plan) => {
    const byWindow: Array<ExpectedWindow | null> = new Array(scenario.datasetSize).fill(null);
    for (const window of plan.windows) for (const s of window.samples) byWindow[s] = window;
    return byWindow;
  });
  const expectedWeight = windowOf.map((row) => row.map((w) => (w ? 1 / w.samples.length : 0)));
  return { plans, windowOf, expectedWeight };
}
