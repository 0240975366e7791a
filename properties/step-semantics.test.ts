import { describe, expect, it } from "vitest";
import { clipFactor } from "../reference/clip.js";
import { expectedLearningRate, scheduleLength } from "../reference/schedule.js";
import { adviceFor, mistakesOf } from "../reports/advice.js";
import { propertyMessage } from "../reports/sentences/index.js";
import { simulateTrace } from "../test/support/simulated-trace.js";
import { withSgdUpdates } from "../test/support/updates.js";
import { makeDataset } from "../trainers/contract/probe.js";
import { parseScenario, type Scenario, type ScenarioInput } from "../trainers/contract/scenario.js";
import { parseTrace, type Step, type Trace } from "../trainers/contract/trace.js";
import { diagnoseTrace } from "./diagnose.js";

const BASE: ScenarioInput = { datasetSize: 128, batchSize: 8, accumulation: 4, epochs: 2 };

const diagnose = (trace: Trace) => diagnoseTrace(parseTrace(trace), makeDataset(trace.scenario));
const simulated = (input: ScenarioInput) => simulateTrace(parseScenario(input), "reference");

describe("the schedule property", () => {
  const input: ScenarioInput = { ...BASE, schedule: "cosine", warmupSteps: 2 };
  const scenario = parseScenario(input);
  const rate = (s: number) => expectedLearningRate(scenario, s);

  it("spans the scenario's applied steps, warm-up from 0 and then transformers' cosine", () => {
    expect(scheduleLength(scenario)).toBe(8);
    expect([0, 1, 2, 5, 7].map((s) => Number(rate(s).toFixed(6)))).toEqual([
      0,
      0.05,
      0.1,
      Number((0.05 * (1 + Math.cos((Math.PI * 3) / 6))).toFixed(6)),
      0.006699,
    ]);
    expect(scheduleLength(parseScenario({ ...input, worldSize: 2 }))).toBe(4);
    expect(scheduleLength(parseScenario({ ...input, datasetSize: 100, dropLast: true }))).toBe(6);
  });

  it("passes a loop whose applied step s used the schedule at s", () => {
    const d = diagnose(withSgdUpdates(simulated(input), rate));
    expect(d.verdict).toBe("pass");
    expect(d.properties.schedule).toMatchObject({ ok: true, applies: true, length: 8 });
    expect(d.properties.schedule.steps.map((s) => s.used)).toEqual(
      Array.from({ length: 8 }, (_, s) => rate(s)),
    );
    expect(propertyMessage(d, "schedule")).toBe(
      "every applied step used the cosine schedule with 2 warm-up steps over 8 applied steps at its own step (learning rates within 1e-5 relative)",
    );
  });

  it("fails a scheduler ticking per micro-batch, naming the schedule step each rate belongs to", () => {
    const k = scenario.accumulation;
    const d = diagnose(withSgdUpdates(simulated(input), (s) => rate(k * s + k - 1)));
    expect(d.verdict).toBe("fail");
    const off = d.properties.schedule.findings;
    expect(off[0]).toMatchObject({ kind: "learning-rate", appliedStep: 0, scheduleStep: 3 });
    expect(propertyMessage(d, "schedule")).toContain("the schedule's rate at step 3, 3 ahead");
    expect(mistakesOf(d)).toEqual(["schedule-per-micro-batch"]);
    expect(adviceFor(d)[0]?.evidence[0]?.shows).toContain(
      "4 micro-batches had been fed by then, and the schedule stood at 3: it ticked once per micro-batch",
    );
    // The gradient is right: only the schedule fails.
    expect(d.properties.weighting.ok).toBe(true);
  });

  it("fails a scheduler that ticked on a skipped step: every later step is one ahead", () => {
    const trace = withSgdUpdates(simulated(input), (s) => rate(s < 3 ? s : s + 1));
    const skipped: Step = {
      epoch: 0,
      skipped: true,
      fingerprint: { epochs: [], samples: [], weights: [] },
      body: null,
    };
    const steps = [...trace.steps.slice(0, 3), skipped, ...trace.steps.slice(3)];
    const d = diagnose({ ...trace, steps });
    const offs = d.properties.schedule.findings.filter((f) => f.kind === "learning-rate");
    expect(offs.map((f) => f.appliedStep)).toEqual([3, 4, 5, 6, 7]);
    expect(offs[0]).toMatchObject({ scheduleStep: 4 });
    expect(propertyMessage(d, "schedule")).toContain("1 ahead");
    expect(mistakesOf(d)).toEqual(["schedule-on-skipped-step"]);
  });

  it("fails when no step says its learning rate, rather than pass what it cannot see", () => {
    const trace = simulated(input);
    const d = diagnose(trace);
    expect(d.properties.schedule.findings).toEqual([
      { kind: "learning-rate-unknown", rank: 0, steps: 8 },
    ]);
    expect(d.verdict).toBe("fail");
    expect(mistakesOf(d)).toEqual(["step-state-unrecorded"]);
  });

  it("does not apply, and does not fail, without a schedule", () => {
    const d = diagnose(simulated(BASE));
    expect(d.properties.schedule).toMatchObject({ ok: true, applies: false });
  });
});

/** A trace whose steps carry averages of two projected directions, kept with `updates(step)` updates each. */
function withAverages(trace: Trace, decay: number, updates: (step: number) => number): Trace {
  let theta = [1, -2];
  let average = [...theta];
  const steps = trace.steps.map((step, index) => {
    const before = theta;
    theta = step.skipped ? theta : theta.map((t, k) => t - 0.01 * (index + 1) * (k === 0 ? 1 : -3));
    for (let n = 0; n < updates(index); n++)
      average = average.map((a, k) => decay * a + (1 - decay) * (theta[k] ?? 0));
    return { ...step, average: { before, after: theta, value: average } };
  });
  return { ...trace, steps };
}

describe("the averaging property", () => {
  const input: ScenarioInput = { ...BASE, ema: 0.9 };

  it("passes one update per applied step, and reports it per step", () => {
    const d = diagnose(withAverages(simulated(input), 0.9, () => 1));
    expect(d.properties.averaging.ok).toBe(true);
    expect(d.properties.averaging.steps.map((s) => s.updates)).toEqual(Array(8).fill(1));
    expect(d.verdict).toBe("pass");
    expect(propertyMessage(d, "averaging")).toBe(
      "the average (decay 0.9) took one update per applied step",
    );
  });

  it("fails an average updated per micro-batch, K updates a step", () => {
    // Updated after each micro-batch, before its step: K updates after a step, none after the last.
    const d = diagnose(withAverages(simulated(input), 0.9, (step) => (step === 7 ? 0 : 4)));
    expect(d.verdict).toBe("fail");
    expect(d.properties.averaging.findings[0]).toMatchObject({
      kind: "average-updates",
      step: 0,
      updates: 4,
      expectedUpdates: 1,
    });
    expect(propertyMessage(d, "averaging")).toContain("it took 4 updates where 1 was due");
    expect(mistakesOf(d)).toEqual(["ema-per-micro-batch"]);
  });

  it("fails a run that keeps no average the recorder sees", () => {
    const d = diagnose(simulated(input));
    expect(d.properties.averaging.findings).toEqual([
      { kind: "average-unknown", rank: 0, steps: 8 },
    ]);
  });
});

describe("the optimizer-state property", () => {
  const input: ScenarioInput = { ...BASE, optimizer: "adamw" };
  const counted = (trace: Trace, count: (applied: number, skipped: boolean) => number): Trace => {
    let applied = 0;
    return {
      ...trace,
      steps: trace.steps.map((step) => {
        if (!step.skipped) applied++;
        return { ...step, optimizerSteps: count(applied, step.skipped) };
      }),
    };
  };
  const other = (trace: Trace): Trace => ({
    ...trace,
    steps: trace.steps.map((step) =>
      step.update ? { ...step, update: { ...step.update, rule: "other" as const } } : step,
    ),
  });

  it("passes a count of one per applied step", () => {
    const d = diagnose(counted(other(withSgdUpdates(simulated(input))), (n) => n));
    expect(d.properties.optimizer).toMatchObject({ ok: true, counted: 8, appliedSteps: 8 });
    expect(d.verdict).toBe("pass");
  });

  it("fails a count that runs ahead of the applied steps", () => {
    const d = diagnose(counted(other(withSgdUpdates(simulated(input))), (n) => 2 * n));
    expect(d.properties.optimizer.findings[0]).toMatchObject({
      kind: "step-count",
      expected: 1,
      counted: 2,
    });
    expect(propertyMessage(d, "optimizer")).toContain("had counted 2 steps where 1 was applied");
    expect(mistakesOf(d)).toEqual(["optimizer-count-off"]);
  });

  it("fails AdamW whose count is unknown", () => {
    const d = diagnose(other(withSgdUpdates(simulated(input))));
    expect(d.properties.optimizer.findings).toEqual([{ kind: "count-unknown", rank: 0, steps: 8 }]);
  });
});

/** The simulated trace with every step clipped as `clip` says (its factor from the window's own gradient). */
function clipped(trace: Trace, factor: (step: Step) => number): Trace {
  return {
    ...trace,
    steps: trace.steps.map((step) => {
      const c = factor(step);
      return {
        ...step,
        fingerprint: { ...step.fingerprint, weights: step.fingerprint.weights.map((w) => w * c) },
        body: step.body ? { ...step.body, gradient: step.body.gradient.map((g) => g * c) } : null,
      };
    }),
  };
}

describe("clipping", () => {
  const scenario: Scenario = parseScenario({ ...BASE, model: "logistic", clipNorm: 0.2 });
  const once = (step: Step) =>
    clipFactor(0.2, step.fingerprint.weights, step.body?.gradient ?? null);

  it("holds every step to its window's gradient clipped once to the norm", () => {
    const base = simulateTrace(scenario, "reference");
    expect(once(base.steps[0] as Step)).toBeLessThan(1);
    const d = diagnose(clipped(base, once));
    expect(d.properties.weighting.ok).toBe(true);
    expect(d.verdict).toBe("pass");
  });

  it("fails a loop that did not clip, by the clip factor", () => {
    const d = diagnose(simulateTrace(scenario, "reference"));
    expect(d.properties.weighting.ok).toBe(false);
    expect(mistakesOf(d)).toEqual(["clip-missing"]);
    const factor = d.steps[0]?.weightFactor ?? 0;
    expect(factor * once(simulateTrace(scenario, "reference").steps[0] as Step)).toBeCloseTo(1, 6);
  });
});

describe("clipping in parts", () => {
  it("names clipping that scaled each micro-batch by its own factor", () => {
    const scenario = parseScenario({ ...BASE, clipNorm: 0.05 });
    const base = simulateTrace(scenario, "reference");
    // Each micro-batch of 8 samples scaled by its own factor below the window's one.
    const perPart = {
      ...base,
      steps: base.steps.map((step) => {
        const once = clipFactor(0.05, step.fingerprint.weights, null);
        return {
          ...step,
          fingerprint: {
            ...step.fingerprint,
            weights: step.fingerprint.weights.map(
              (w, k) => w * once * (0.5 + Math.floor(k / 8) * 0.1),
            ),
          },
        };
      }),
    };
    const d = diagnose(perPart);
    expect(d.properties.weighting.ok).toBe(false);
    expect(mistakesOf(d)).toContain("clip-not-once");
  });
});
