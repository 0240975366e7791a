import { describe, expect, it } from "vitest";
import { adviceFor, mistakesOf } from "../reports/advice.js";
import { propertyMessage } from "../reports/sentences/index.js";
import { simulateDataParallelTrace, simulateTrace } from "../test/support/simulated-trace.js";
import { repeatUpdateAfter, scaleUpdate, withSgdUpdates } from "../test/support/updates.js";
import { makeDataset } from "../trainers/contract/probe.js";
import { parseScenario, type ScenarioInput } from "../trainers/contract/scenario.js";
import { parseTrace, type Trace } from "../trainers/contract/trace.js";
import { diagnoseTrace } from "./diagnose.js";
import type { UpdateFinding } from "./outcome.js";

const SCENARIO: ScenarioInput = {
  datasetSize: 110,
  batchSize: 8,
  accumulation: 4,
  epochs: 2,
  model: "logistic",
};

const reference = (s: ScenarioInput = SCENARIO) =>
  withSgdUpdates(simulateTrace(parseScenario(s), "reference"));
const diagnose = (trace: Trace) => diagnoseTrace(parseTrace(trace), makeDataset(trace.scenario));
const updateFindings = (trace: Trace) =>
  diagnose(trace).properties.weighting.findings.filter(
    (f): f is UpdateFinding =>
      f.kind === "update-missing" || f.kind === "update-factor" || f.kind === "outside-step",
  );

describe("what the steps did to the parameters", () => {
  it("passes plain SGD steps that moved every parameter by lr·g, as float32 rounds it", () => {
    for (const model of ["logistic", "mlp", "fingerprint"] as const)
      for (const learningRate of [0.1, 1e-5, 3])
        expect(
          diagnose(reference({ ...SCENARIO, model, learningRate })).verdict,
          `${model} lr ${learningRate}`,
        ).toBe("pass");
  });

  it("names a step that moved nothing (an optimizer whose step does nothing, or skips calls)", () => {
    const trace = scaleUpdate(scaleUpdate(reference(), 1, 0), 5, 0);
    const d = diagnose(trace);
    expect(d.verdict).toBe("fail");
    expect(d.properties.coverage.ok).toBe(true);
    expect(updateFindings(trace)).toEqual([
      { kind: "update-missing", rank: 0, step: 1, epoch: 0, learningRate: 0.1 },
      { kind: "update-missing", rank: 0, step: 5, epoch: 1, learningRate: 0.1 },
    ]);
    expect(mistakesOf(d)).toEqual(["update-not-applied"]);
    expect(propertyMessage(d, "weighting")).toBe(
      "step 2 (epoch 1) moved no parameter although its gradient was not zero: the optimizer's step applied nothing (1 more update finding)",
    );
    const [advice] = adviceFor(d);
    expect(advice?.title).toBe("the optimizer's step applied nothing");
    expect(advice?.evidence.map((e) => e.step)).toEqual([1, 5]);
  });

  it("says so when the learning rate was 0", () => {
    const trace = withSgdUpdates(simulateTrace(parseScenario(SCENARIO), "reference"), 0);
    const d = diagnose(trace);
    expect(d.verdict).toBe("fail");
    expect(updateFindings(trace)).toHaveLength(8);
    expect(propertyMessage(d, "weighting")).toContain(
      "step 1 (epoch 1) moved no parameter although its gradient was not zero (its learning rate was 0)",
    );
    expect(mistakesOf(d)).toEqual(["update-not-applied"]);
  });

  it("names a step that applied its gradient twice, and one applied again by hand after the step", () => {
    const inside = scaleUpdate(reference(), 2, 2);
    expect(updateFindings(inside)).toMatchObject([
      { kind: "update-factor", step: 2, epoch: 0, learningRate: 0.1, movedWithoutGradient: 0 },
    ]);
    expect(updateFindings(inside)[0]).toMatchObject({ factor: expect.closeTo(2, 6) });
    const d = diagnose(inside);
    expect(mistakesOf(d)).toEqual(["update-applied-twice"]);
    expect(propertyMessage(d, "weighting")).toBe(
      "step 3 (epoch 1) moved its parameters by 2 × lr·g (learning rate 0.1): it applied its gradient twice",
    );

    const after = repeatUpdateAfter(reference(), 7);
    const [finding] = updateFindings(after);
    expect(finding).toMatchObject({
      kind: "outside-step",
      since: 8,
      stepsBefore: 8,
      stepCalls: 8,
      fingerprintEntries: 14,
      bodyEntries: 4,
      repeats: { step: 7, epoch: 1 },
    });
    const repeated = diagnose(after);
    expect(mistakesOf(repeated)).toEqual(["update-applied-twice"]);
    expect(propertyMessage(repeated, "weighting")).toMatch(
      /^14 fingerprint entries and 4 body parameters changed after the last step \(step 8\), outside any optimizer step \(largest change [0-9.e-]+\): step 8's update applied again, so its gradient was applied twice in all$/,
    );
    expect(adviceFor(repeated)[0]?.evidence[0]?.step).toBe(7);
  });

  it("names parameters changed between steps by anything but a step", () => {
    const trace = reference();
    const all = Array.from({ length: 220 }, (_, k) => k);
    const edited: Trace = {
      ...trace,
      outsideSteps: [
        {
          rank: 0,
          since: 3,
          stepsBefore: 3,
          fingerprint: {
            epochs: all.map((k) => Math.floor(k / 110)),
            samples: all.map((k) => k % 110),
            changes: all.map(() => -0.1),
          },
          body: null,
        },
      ],
    };
    const d = diagnose(edited);
    expect(d.verdict).toBe("fail");
    expect(mistakesOf(d)).toEqual(["parameters-changed-outside-step"]);
    expect(propertyMessage(d, "weighting")).toBe(
      "220 fingerprint entries changed between steps 3 and 4, outside any optimizer step (largest change 0.1)",
    );
    const [advice] = adviceFor(d);
    expect(advice?.title).toBe("the parameters changed outside the optimizer's steps");
  });

  it("holds other optimizers only to moving something, and dates a change seen at the run's end", () => {
    const trace = reference();
    const other: Trace = {
      ...trace,
      steps: trace.steps.map((s) =>
        s.update
          ? {
              ...s,
              update: {
                ...s.update,
                rule: "other",
                fingerprint: s.update.fingerprint.map((c) => c * 3),
              },
            }
          : s,
      ),
    };
    expect(diagnose(other).verdict).toBe("pass");
    const still = scaleUpdate(other, 0, 0);
    expect(updateFindings(still)).toMatchObject([{ kind: "update-missing", step: 0 }]);
    const late: Trace = {
      ...trace,
      outsideSteps: [
        {
          since: 0,
          stepsBefore: 8,
          fingerprint: { epochs: [1], samples: [3], changes: [0.5] },
          body: null,
        },
      ],
    };
    expect(propertyMessage(diagnose(late), "weighting")).toBe(
      "1 fingerprint entry changed somewhere between the run's start and the run's end, outside any optimizer step (largest change 0.5)",
    );
  });

  it("judges every rank's steps and names the rank", () => {
    const simulated = simulateDataParallelTrace({ ...SCENARIO, worldSize: 2 }, "ddp-reference");
    const trace = withSgdUpdates(simulated);
    const replica = withSgdUpdates({ ...simulated, steps: simulated.replicas?.[0]?.steps ?? [] });
    const zeroed = scaleUpdate(replica, 3, 0).steps;
    const d = diagnose({ ...trace, replicas: [{ rank: 1, steps: zeroed }] });
    expect(d.properties.weighting.findings).toMatchObject([
      { kind: "update-missing", rank: 1, step: 3 },
    ]);
    expect(propertyMessage(d, "weighting")).toContain(
      "step 4 (epoch 2) on rank 1 moved no parameter",
    );
  });
});

describe("the trace's update fields", () => {
  it("are checked against the step they describe, in one line naming the field", () => {
    const trace = reference();
    const bad = structuredClone(trace);
    bad.steps[2]?.update?.fingerprint.pop();
    expect(() => parseTrace(bad)).toThrow(
      /^invalid trace: steps\.2\.update\.fingerprint: expected 32 changes \(one per fingerprint entry\), saw 31$/,
    );
    const body = structuredClone(trace);
    if (body.steps[0]?.update) body.steps[0].update.body = null;
    expect(() => parseTrace(body)).toThrow("steps.0.update.body: expected 4 changes, saw null");
    const outside = {
      ...trace,
      outsideSteps: [
        {
          since: 0,
          stepsBefore: 0,
          fingerprint: { epochs: [2], samples: [0], changes: [1] },
          body: null,
        },
      ],
    };
    expect(() => parseTrace(outside)).toThrow(
      "invalid trace: outsideSteps.0.fingerprint entry 0: expected epoch < 2 and sample < 110, saw epoch 2 sample 0",
    );
  });
});
