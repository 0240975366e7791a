import { runCheck } from "../properties/run-check.js";
import { scenarioShape } from "../reports/words.js";
import { makeDataset } from "../trainers/contract/probe.js";
import { parseScenario, type ScenarioInput } from "../trainers/contract/scenario.js";
import type { RunOptions, Trainer } from "../trainers/contract/trainer.js";
import type { CaseRunner } from "./measure.js";

/** The benchmark's fixed scenarios (fingerprint model), labelled N/B/K x epochs. */
export const BENCH_SCENARIOS: ScenarioInput[] = [
  { datasetSize: 110, batchSize: 8, accumulation: 4, epochs: 2 },
  { datasetSize: 1000, batchSize: 128, accumulation: 4, epochs: 1 },
  { datasetSize: 1000, batchSize: 16, accumulation: 4, epochs: 3, shuffle: 1 },
];

/** What a bench row times against training without recording. */
export type BenchedWork = "recording" | "full check";

/**
 * A runner per trainer and scenario. `baseline` trains without recording; `run` trains while
 * recording the trace ("recording": the recording cost), or runs a whole check: recording, the
 * oracle and the three properties ("full check": what auditing a run costs over training it).
 */
export function benchCaseRunners(
  work: BenchedWork,
  trainers: Trainer[],
  scenarios: ScenarioInput[],
  options: Omit<RunOptions, "record"> = {},
): CaseRunner[] {
  return scenarios.flatMap((input) => {
    const scenario = parseScenario(input);
    const dataset = makeDataset(scenario);
    return trainers.map((trainer) => ({
      name: work === "recording" ? trainer.name : `${trainer.name} full check`,
      scenario: scenarioShape(scenario),
      run:
        work === "recording"
          ? () => trainer.run(scenario, dataset, { ...options, record: true })
          : () => runCheck(trainer, scenario, { ...options, record: true }),
      baseline: () => trainer.run(scenario, dataset, { ...options, record: false }),
    }));
  });
}
