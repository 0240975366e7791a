import { describe, expect, it } from "vitest";
import { syntheticTrace } from "../test/support/synthetic-trace.js";
import { parseScenario } from "../trainers/contract/scenario.js";
import type { Trace } from "../trainers/contract/trace.js";
import type { Trainer } from "../trainers/contract/trainer.js";
import { runCheck } from "./run-check.js";

const scenario = parseScenario({
  datasetSize: 12,
  batchSize: 2,
  accumulation: 2,
  model: "logistic",
});

function trainerReturning(edit: (trace: Trace) => void): Trainer {
  return {
    name: "edited",
    description: "returns an edited synthetic trace",
    run: async (s) => {
      const trace = syntheticTrace(s);
      edit(trace);
      return trace;
    },
  };
}

describe("runCheck", () => {
  it("passes an exact trace and times the run", async () => {
    const { result } = await runCheck(
      trainerReturning(() => {}),
      scenario,
    );
    expect(result.verdict).toBe("pass");
    expect(result.durationMs).toBeGreaterThanOrEqual(0);
  });

  it("turns an applied NaN gradient into a one-line error naming the step", async () => {
    const { result } = await runCheck(
      trainerReturning((t) => {
        const body = t.steps[1]?.body;
        if (body) body.gradient[2] = "NaN";
      }),
      scenario,
    );
    expect(result).toMatchObject({ verdict: "error", properties: null });
    expect(result.error).toBe(
      "step 2 (epoch 1) applied a non-finite body gradient (entry 2: NaN); expected finite numbers in every applied step",
    );
  });

  it("ignores non-finite numbers of a skipped step", async () => {
    const { result } = await runCheck(
      trainerReturning((t) => {
        t.steps.push({
          epoch: 0,
          skipped: true,
          fingerprint: { epochs: [0], samples: [0], weights: ["Infinity"] },
          body: null,
        });
      }),
      scenario,
    );
    expect(result.verdict).toBe("pass");
  });

  it("rejects a trace of another scenario", async () => {
    const { result } = await runCheck(
      trainerReturning((t) => {
        t.scenario = { ...t.scenario, accumulation: 3 };
      }),
      scenario,
    );
    expect(result.verdict).toBe("error");
    expect(result.error).toBe("trace.scenario.accumulation: expected 2 (the scenario sent), saw 3");
  });

  it("reports a throwing trainer as an error without throwing", async () => {
    const failing: Trainer = {
      name: "failing",
      description: "throws",
      run: async () => {
        throw new Error("worker exited with code 1\nTraceback ...");
      },
    };
    const { result } = await runCheck(failing, scenario);
    expect(result).toMatchObject({ verdict: "error", error: "worker exited with code 1" });
  });
});
