import { describe, expect, it } from "vitest";
import { diagnoseTrace } from "../../properties/diagnose.js";
import { expectedLearningRate } from "../../reference/schedule.js";
import { testRun } from "../../test/support/outcomes.js";
import { simulateTrace } from "../../test/support/simulated-trace.js";
import { withSgdUpdates } from "../../test/support/updates.js";
import { makeDataset } from "../../trainers/contract/probe.js";
import { parseScenario, type ScenarioInput } from "../../trainers/contract/scenario.js";
import { renderCheckReport } from "./index.js";
import { learningRateChart } from "./step-semantics-section.js";

const SCHEDULED: ScenarioInput = {
  datasetSize: 128,
  batchSize: 8,
  accumulation: 4,
  epochs: 2,
  schedule: "linear",
  warmupSteps: 2,
};

/** A check of a loop whose scheduler ticked per micro-batch (rate of schedule step 4s + 3). */
function perMicroBatchCheck() {
  const scenario = parseScenario(SCHEDULED);
  const trace = withSgdUpdates(simulateTrace(scenario, "reference"), (s) =>
    expectedLearningRate(scenario, 4 * s + 3),
  );
  return diagnoseTrace(trace, makeDataset(scenario));
}

describe("the report's step semantics", () => {
  it("charts the learning rate per applied step, expected and used, and says how many were off", () => {
    const chart = learningRateChart(perMicroBatchCheck());
    if (!chart) throw new Error("no learning-rate chart");
    expect(chart.summary).toBe(
      "8 applied steps of a linear schedule over 8 (2 warm-up steps); 8 steps used another step's rate.",
    );
    const values = (chart.spec.data as { values: Array<{ series: string }> }).values;
    expect(values.filter((v) => v.series === "schedule (expected)")).toHaveLength(8);
    expect(values.filter((v) => v.series === "used by the step")).toHaveLength(8);
  });

  it("adds the section, its chart and its per-step table to the check's page, and nothing without step semantics", async () => {
    const html = await renderCheckReport({ check: perMicroBatchCheck(), run: testRun("check") });
    expect(html).toContain("Step semantics</h2>");
    expect(html).toContain('aria-label="Learning rate per applied step for reference"');
    expect(html).toContain("What each step did beyond its gradient");
    const plainScenario = parseScenario({ ...SCHEDULED, schedule: "constant", warmupSteps: 0 });
    const plain = diagnoseTrace(
      simulateTrace(plainScenario, "reference"),
      makeDataset(plainScenario),
    );
    expect(await renderCheckReport({ check: plain, run: testRun("check") })).not.toContain(
      "Step semantics</h2>",
    );
  });
});
