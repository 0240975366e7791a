import { describe, expect, it } from "vitest";
import { expectedLearningRate, scheduleLength } from "../../reference/schedule.js";
import { parseScenario, SCHEDULES, type ScenarioInput } from "../contract/scenario.js";
import { createLoader } from "./loader.js";
import { LearningRateScheduler, trainingSteps } from "./schedule.js";

const SHAPES: ScenarioInput[] = [
  { datasetSize: 128, batchSize: 8, accumulation: 4, epochs: 2 },
  { datasetSize: 110, batchSize: 8, accumulation: 4, epochs: 3 },
  { datasetSize: 100, batchSize: 8, accumulation: 4, dropLast: true },
  { datasetSize: 23, batchSize: 4, accumulation: 5, epochs: 2 },
];

describe("the trainer's learning-rate scheduler", () => {
  for (const input of SHAPES)
    for (const schedule of SCHEDULES)
      for (const warmupSteps of [0, 2, 3])
        it(`matches the oracle's ${schedule} schedule, ${warmupSteps} warm-up, on ${JSON.stringify(input)}`, () => {
          const scenario = parseScenario({ ...input, schedule, warmupSteps, learningRate: 0.3 });
          const totalSteps = trainingSteps(
            scenario.epochs,
            createLoader(scenario).length,
            scenario.accumulation,
          );
          expect(totalSteps).toBe(scheduleLength(scenario));
          const group = { learningRate: Number.NaN };
          const scheduler = new LearningRateScheduler(group, scenario.learningRate, {
            schedule,
            warmupSteps,
            totalSteps,
          });
          for (let s = 0; s < totalSteps; s++) {
            expect(group.learningRate, `step ${s}`).toBeCloseTo(
              expectedLearningRate(scenario, s),
              14,
            );
            scheduler.step();
          }
          expect(scheduler.stepsTaken).toBe(totalSteps);
        });

  it("sets the optimizer's rate when built: 0 at the start of a warm-up, as LambdaLR does", () => {
    const group = { learningRate: 1 };
    const shape = { schedule: "linear", warmupSteps: 4, totalSteps: 10 } as const;
    const scheduler = new LearningRateScheduler(group, 0.2, shape);
    expect(group.learningRate).toBe(0);
    scheduler.step();
    expect(group.learningRate).toBeCloseTo(0.05, 15);
  });
});
