import { performance } from "node:perf_hooks";
import { runCheck } from "../properties/run-check.js";
import { checkErrorMessage } from "../reports/sentences/index.js";
import { parseScenario, type ScenarioInput } from "../trainers/contract/scenario.js";
import { createPythonTrainer, disposePythonWorkers } from "../trainers/external/python-trainer.js";

/** Cases per second of one world size. */
export interface WorldSizeFigures {
  worldSize: number;
  cases: number;
  casesPerSecond: number;
  /** Median seconds of one case. */
  medianSeconds: number;
}

/**
 * Whole checks (worker run, ranks started and joined, trace decoded and judged) per second of a
 * Python trainer at each world size, the world sizes interleaved case by case so that both see
 * the same machine; the worker is started before the first timed case.
 */
export async function measureWorldSizes(options: {
  trainer: string;
  worldSizes: readonly number[];
  cases: number;
  scenario?: ScenarioInput;
}): Promise<WorldSizeFigures[]> {
  const trainer = createPythonTrainer(options.trainer, { timeoutMs: 300_000 });
  const scenarioFor = (worldSize: number, dataSeed: number) =>
    parseScenario({
      datasetSize: 110,
      batchSize: 8,
      accumulation: 4,
      epochs: 2,
      model: "logistic",
      ...options.scenario,
      worldSize,
      dataSeed,
    });
  try {
    await runCheck(trainer, scenarioFor(1, 0));
    const times = new Map(options.worldSizes.map((w) => [w, [] as number[]]));
    for (let i = 0; i < options.cases; i++)
      for (const worldSize of options.worldSizes) {
        const started = performance.now();
        const check = await runCheck(trainer, scenarioFor(worldSize, i + 1));
        if (check.verdict === "error")
          throw new Error(
            `${options.trainer} at W = ${worldSize}: ${checkErrorMessage(check.error)}`,
          );
        times.get(worldSize)?.push((performance.now() - started) / 1000);
      }
    return options.worldSizes.map((worldSize) => {
      const seconds = [...(times.get(worldSize) ?? [])].sort((a, b) => a - b);
      const total = seconds.reduce((a, b) => a + b, 0);
      return {
        worldSize,
        cases: seconds.length,
        casesPerSecond: seconds.length / total,
        medianSeconds: seconds[Math.floor(seconds.length / 2)] ?? Number.NaN,
      };
    });
  } finally {
    await disposePythonWorkers();
  }
}
