import { describe, expect, it } from "vitest";
import { simulateTrace } from "../test/support/simulated-trace.js";
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
      const trace = simulateTrace(s);
      edit(trace);
      return trace;
    },
  };
}

describe("runCheck", () => {
  it("passes an exact trace and times the run", async () => {
    const check = await runCheck(
      trainerReturning(() => {}),
      scenario,
    );
    expect(check.verdict).toBe("pass");
    expect(check.durationMs).toBeGreaterThanOrEqual(0);
  });

  it("fails weighting at a step that applied a NaN gradient, naming the step and the entry", async () => {
    const check = await runCheck(
      trainerReturning((t) => {
        const body = t.steps[1]?.body;
        if (body) body.gradient[2] = Number.NaN;
      }),
      scenario,
    );
    expect(check.verdict).toBe("fail");
    if (check.verdict !== "fail") return;
    expect(check.properties.weighting.ok).toBe(false);
    expect(check.properties.weighting.findings[0]).toEqual({
      kind: "non-finite",
      step: 1,
      epoch: 0,
      part: "body gradient",
      entry: 2,
      value: Number.NaN,
    });
  });

  it.each([
    ["fingerprint weight", Number.POSITIVE_INFINITY],
    ["parameter before the step", Number.NEGATIVE_INFINITY],
  ] as const)("fails weighting at a step whose %s is %d", async (part, value) => {
    const check = await runCheck(
      trainerReturning((t) => {
        const step = t.steps[2];
        if (!step?.body) return;
        if (part === "fingerprint weight") step.fingerprint.weights[1] = value;
        else step.body.parametersBefore[0] = value;
      }),
      scenario,
    );
    expect(check.verdict).toBe("fail");
    if (check.verdict !== "fail") return;
    expect(check.properties.weighting.findings[0]).toMatchObject({
      kind: "non-finite",
      step: 2,
      part,
      entry: part === "fingerprint weight" ? 1 : 0,
      value,
    });
  });

  it("ignores non-finite numbers of a skipped step", async () => {
    const check = await runCheck(
      trainerReturning((t) => {
        t.steps.push({
          epoch: 0,
          skipped: true,
          fingerprint: { epochs: [0], samples: [0], weights: [Number.POSITIVE_INFINITY] },
          body: null,
        });
      }),
      scenario,
    );
    expect(check.verdict).toBe("pass");
  });

  it("rejects a trace of another scenario", async () => {
    const check = await runCheck(
      trainerReturning((t) => {
        t.scenario = { ...t.scenario, accumulation: 3 };
      }),
      scenario,
    );
    expect(check).toMatchObject({
      verdict: "error",
      error: { kind: "scenario-mismatch", field: "accumulation", sent: 2, received: 3 },
    });
  });

  it("reports a throwing trainer as an error without throwing", async () => {
    const failing: Trainer = {
      name: "failing",
      description: "throws",
      run: async () => {
        throw new Error("worker exited with code 1\nTraceback ...");
      },
    };
    const check = await runCheck(failing, scenario);
    expect(check).toMatchObject({
      verdict: "error",
      error: { kind: "trainer", message: "worker exited with code 1" },
    });
  });
});
