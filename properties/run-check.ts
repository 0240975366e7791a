import { makeDataset } from "../trainers/contract/probe.js";
import type { Scenario } from "../trainers/contract/scenario.js";
import type { RunOptions, Trainer } from "../trainers/contract/trainer.js";
import { diagnoseTrace } from "./diagnose.js";
import { describeNonFiniteStep } from "./non-finite.js";
import type { CheckDiagnosis } from "./result.js";

/** Error text for a thrown value, one line. */
export function errorMessage(error: unknown): string {
  const text = error instanceof Error ? error.message : String(error);
  return text.split("\n")[0] ?? text;
}

/**
 * Runs a trainer on a scenario and checks the trace. A trainer that throws, returns a trace of
 * another scenario, or applies a non-finite number yields verdict "error"; it never throws.
 */
export async function runCheck(
  trainer: Trainer,
  scenario: Scenario,
  options: RunOptions = {},
): Promise<CheckDiagnosis> {
  const dataset = makeDataset(scenario);
  const started = performance.now();
  try {
    const trace = await trainer.run(scenario, dataset, options);
    const durationMs = performance.now() - started;
    const differing = (Object.keys(scenario) as Array<keyof Scenario>).find(
      (k) => trace.scenario[k] !== scenario[k],
    );
    if (differing)
      throw new Error(
        `trace.scenario.${differing}: expected ${JSON.stringify(scenario[differing])} (the scenario sent), saw ${JSON.stringify(trace.scenario[differing])}`,
      );
    const nonFinite = describeNonFiniteStep(trace);
    if (nonFinite) throw new Error(nonFinite);
    const diagnosis = diagnoseTrace(trace, dataset, trainer.name);
    diagnosis.result.durationMs = durationMs;
    return diagnosis;
  } catch (error) {
    const info = trainer.info?.();
    return {
      result: {
        trainer: trainer.name,
        ...(info ? { trainerInfo: info } : {}),
        scenario,
        verdict: "error",
        properties: null,
        error: errorMessage(error),
        durationMs: performance.now() - started,
      },
      trace: null,
      steps: [],
      occurrenceStatus: [],
      expectedWeight: [],
    };
  }
}
