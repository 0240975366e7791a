import { makeDataset } from "../trainers/contract/probe.js";
import type { Scenario } from "../trainers/contract/scenario.js";
import { type RunOptions, type Trainer, TrainerError } from "../trainers/contract/trainer.js";
import { diagnoseTrace } from "./diagnose.js";
import type { CheckErrorCause, CheckOutcome } from "./outcome.js";

/** Error text for a thrown value, one line. */
export function errorMessage(error: unknown): string {
  const text = error instanceof Error ? error.message : String(error);
  return text.split("\n")[0] ?? text;
}

/**
 * Runs a trainer on a scenario and judges the trace. A trainer that throws or returns a trace of
 * another scenario yields verdict "error" (one that applies a non-finite number fails weighting:
 * properties/non-finite.ts); it never throws.
 */
export async function runCheck(
  trainer: Trainer,
  scenario: Scenario,
  options: RunOptions = {},
): Promise<CheckOutcome> {
  const dataset = makeDataset(scenario);
  const started = performance.now();
  const failed = (error: CheckErrorCause): CheckOutcome => {
    const info = trainer.info?.();
    return {
      trainer: trainer.name,
      ...(info ? { trainerInfo: info } : {}),
      scenario,
      verdict: "error",
      error,
      durationMs: performance.now() - started,
    };
  };
  let trace: Awaited<ReturnType<Trainer["run"]>>;
  try {
    trace = await trainer.run(scenario, dataset, options);
  } catch (error) {
    const detail = error instanceof TrainerError ? error.detail : {};
    return failed({
      kind: "trainer",
      message: errorMessage(error),
      ...(detail.traceback?.length ? { traceback: detail.traceback } : {}),
      ...(detail.output?.length ? { output: detail.output } : {}),
      ...(detail.timeoutMs === undefined ? {} : { timeoutMs: detail.timeoutMs }),
    });
  }
  const durationMs = performance.now() - started;
  const differing = (Object.keys(scenario) as Array<keyof Scenario>).find(
    (k) => JSON.stringify(trace.scenario[k]) !== JSON.stringify(scenario[k]),
  );
  if (differing)
    return failed({
      kind: "scenario-mismatch",
      field: differing,
      sent: scenario[differing],
      received: trace.scenario[differing],
    });
  return { ...diagnoseTrace(trace, dataset, trainer.name), durationMs };
}
