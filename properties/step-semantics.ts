import type { Trace } from "../trainers/contract/trace.js";
import { checkAveraging } from "./averaging.js";
import { checkOptimizerState } from "./optimizer-state.js";
import type { PropertyResults } from "./outcome.js";
import { checkSchedule } from "./schedule.js";

type StepSemantics = Pick<PropertyResults, "schedule" | "averaging" | "optimizer">;

/**
 * The properties of a step beyond its gradient: the learning-rate schedule, the parameters'
 * average and the optimizer's step count. Each holds trivially when the scenario does not ask.
 */
export function checkStepSemantics(trace: Trace): StepSemantics {
  return {
    schedule: checkSchedule(trace),
    averaging: checkAveraging(trace),
    optimizer: checkOptimizerState(trace),
  };
}

/** Whether every step property the scenario asks for holds. */
export function stepSemanticsHold(results: StepSemantics): boolean {
  return results.schedule.ok && results.averaging.ok && results.optimizer.ok;
}
