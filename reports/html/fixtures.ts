/**
 * Fixture builders for the HTML reports: realistic CheckDiagnosis and AuditResult data made by
 * simulating the accumulation loops of the mission on the probe model. They exist so the
 * renderer can be built and tested before (and independently of) properties/ and reference/;
 * nothing outside reports/ should import them.
 */
import { missionScenarios } from "../../properties/arbitraries.js";
import type {
  AuditResult,
  CheckDiagnosis,
  CheckResult,
  Counterexample,
  OccurrenceStatus,
  StepAnalysis,
  TrainerAudit,
  WindowMismatch,
  WorstWeight,
} from "../../properties/result.js";
import { FEATURES, initialBodyParameters, makeDataset } from "../../trainers/contract/probe.js";
import {
  microBatchesPerEpoch,
  parseScenario,
  type Scenario,
  type ScenarioInput,
  scenarioFlags,
  stepsPerEpoch,
} from "../../trainers/contract/scenario.js";
import type { Step, Trace, TrainerInfo } from "../../trainers/contract/trace.js";
import type { ReportMeta } from "./meta.js";

/** The accumulation loops the fixtures can simulate (see MISSION.md). */
export type FixtureLoop = "reference" | "docs-loop" | "step-at-end" | "two-loop";

const TOLERANCE = { fp32: 1e-5, fp16: 1e-2, bf16: 3e-2 } as const;
const BODY_TOLERANCE = { fp32: 1e-4, fp16: 5e-2, bf16: 1e-1 } as const;

/** Sample ids of every micro-batch of one epoch, in loader order. */
function epochMicroBatches(s: Scenario, epoch: number): number[][] {
  const order = Array.from({ length: s.datasetSize }, (_, i) => i);
  if (s.shuffle !== false) {
    let state = (s.shuffle + epoch * 0x9e3779b1) >>> 0;
    const next = () => {
      state = (state + 0x6d2b79f5) >>> 0;
      let t = state;
      t = Math.imul(t ^ (t >>> 15), t | 1);
      t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
      return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    };
    for (let i = order.length - 1; i > 0; i--) {
      const j = Math.floor(next() * (i + 1));
      [order[i], order[j]] = [order[j] as number, order[i] as number];
    }
  }
  const batches: number[][] = [];
  for (let p = 0; p < microBatchesPerEpoch(s); p++)
    batches.push(order.slice(p * s.batchSize, (p + 1) * s.batchSize));
  return batches;
}

interface Pending {
  weights: Map<number, number>;
  body: number[];
}

function logisticGradient(params: number[], x: number[], y: number): number[] {
  const z = x.reduce((acc, xi, j) => acc + xi * (params[j] ?? 0), params[FEATURES] ?? 0);
  const d = 1 / (1 + Math.exp(-z)) - y;
  return [...x.map((xi) => d * xi), d];
}

/** Runs one of the mission's loops on a scenario and records its trace. */
export function simulateTrace(
  input: ScenarioInput,
  loop: FixtureLoop,
  trainer: TrainerInfo = { name: loop },
): Trace {
  const s = parseScenario(input);
  if (s.model === "mlp") throw new Error(`model: expected fingerprint or logistic, saw ${s.model}`);
  const N = s.datasetSize;
  const K = s.accumulation;
  const dataset = s.model === "logistic" ? makeDataset(s) : null;
  let params = initialBodyParameters(s);
  const steps: Step[] = [];
  const microBatches: NonNullable<Trace["microBatches"]> = [];
  let pending: Pending = { weights: new Map(), body: params.map(() => 0) };

  const accumulate = (epoch: number, batch: number[], scale: number) => {
    microBatches.push({ epoch, samples: batch, stepsBefore: steps.length });
    for (const i of batch) {
      const key = epoch * N + i;
      pending.weights.set(key, (pending.weights.get(key) ?? 0) + scale);
      if (dataset) {
        const g = logisticGradient(params, dataset.features[i] ?? [], dataset.labels[i] ?? 0);
        pending.body = pending.body.map((v, j) => v + scale * (g[j] ?? 0));
      }
    }
  };
  const step = (epoch: number) => {
    const entries = [...pending.weights.entries()].sort((a, b) => a[0] - b[0]);
    steps.push({
      epoch,
      skipped: false,
      fingerprint: {
        epochs: entries.map(([k]) => Math.floor(k / N)),
        samples: entries.map(([k]) => k % N),
        weights: entries.map(([, w]) => w),
      },
      body: dataset ? { parametersBefore: [...params], gradient: [...pending.body] } : null,
    });
    params = params.map((p, j) => p - s.learningRate * (pending.body[j] ?? 0));
    pending = { weights: new Map(), body: params.map(() => 0) };
  };

  for (let epoch = 0; epoch < s.epochs; epoch++) {
    const batches = epochMicroBatches(s, epoch);
    batches.forEach((batch, p) => {
      const windowStart = p - (p % K);
      const windowBatches = batches.slice(windowStart, windowStart + K);
      const windowSamples = windowBatches.reduce((n, b) => n + b.length, 0);
      const isLast = p === batches.length - 1;
      const windowEnd = (p + 1) % K === 0 || isLast;
      switch (loop) {
        case "reference":
          accumulate(epoch, batch, 1 / windowSamples);
          if (windowEnd) step(epoch);
          break;
        case "docs-loop":
          accumulate(epoch, batch, 1 / (batch.length * K));
          if ((p + 1) % K === 0) step(epoch);
          break;
        case "step-at-end":
          accumulate(epoch, batch, 1 / (batch.length * K));
          if (windowEnd) step(epoch);
          break;
        case "two-loop":
          accumulate(epoch, batch, 1 / (batch.length * windowBatches.length));
          if (windowEnd) step(epoch);
          break;
      }
    });
  }
  return { format: "accumaudit-trace", version: 1, trainer, scenario: s, steps, microBatches };
}

interface ExpectedWindow {
  epoch: number;
  index: number;
  samples: number[];
  microBatches: [number, number];
}

function expectedWindows(s: Scenario): ExpectedWindow[] {
  const windows: ExpectedWindow[] = [];
  for (let epoch = 0; epoch < s.epochs; epoch++) {
    const batches = epochMicroBatches(s, epoch);
    for (let start = 0, index = 0; start < batches.length; start += s.accumulation, index++) {
      const end = Math.min(start + s.accumulation, batches.length) - 1;
      const samples = batches.slice(start, end + 1).flat();
      windows.push({ epoch, index, samples, microBatches: [start, end] });
    }
  }
  return windows;
}

function norm(v: number[]): number {
  return Math.sqrt(v.reduce((acc, x) => acc + x * x, 0));
}

/**
 * Builds the oracle's view of a simulated trace, as properties/ will: statuses, expected
 * weights, per-step analysis and the CheckResult. A fixture stand-in, not the real oracle.
 */
export function diagnoseFixture(trace: Trace, durationMs = 12): CheckDiagnosis {
  const s = trace.scenario;
  const N = s.datasetSize;
  const windows = expectedWindows(s);
  const windowOf = new Map<number, ExpectedWindow>();
  for (const w of windows) for (const i of w.samples) windowOf.set(w.epoch * N + i, w);
  const expectedWeight = Array.from({ length: s.epochs }, (_, e) =>
    Array.from({ length: N }, (_, i) => {
      const w = windowOf.get(e * N + i);
      return w ? 1 / w.samples.length : 0;
    }),
  );
  const appliedIn = new Map<number, number[]>();
  const dataset = s.model === "logistic" ? makeDataset(s) : null;
  let worst: WorstWeight | null = null;
  let bodyWorst: { step: number; error: number } | null = null;
  const analyses: StepAnalysis[] = trace.steps.map((step, index) => {
    const shared = new Map<ExpectedWindow, number>();
    let weightRelError = 0;
    step.fingerprint.samples.forEach((sample, k) => {
      const epoch = step.fingerprint.epochs[k] ?? 0;
      const weight = Number(step.fingerprint.weights[k]);
      const key = epoch * N + sample;
      appliedIn.set(key, [...(appliedIn.get(key) ?? []), index]);
      const w = windowOf.get(key);
      if (w) shared.set(w, (shared.get(w) ?? 0) + 1);
      const expected = expectedWeight[epoch]?.[sample] ?? 0;
      const size = expected > 0 ? 1 / expected : 0;
      const relError = expected > 0 ? Math.abs(weight - expected) * size : Math.abs(weight);
      weightRelError = Math.max(weightRelError, relError);
      if (!worst || relError > worst.relError)
        worst = {
          epoch,
          sample,
          step: index,
          stepEpoch: step.epoch,
          weight,
          expectedWeight: expected,
          windowSize: size,
          relError,
        };
    });
    const best = [...shared.entries()].sort((a, b) => b[1] - a[1])[0]?.[0] ?? null;
    let bodyRelError: number | null = null;
    if (dataset && step.body && best) {
      const params = step.body.parametersBefore.map(Number);
      const reference = params.map(() => 0);
      for (const i of best.samples) {
        const g = logisticGradient(params, dataset.features[i] ?? [], dataset.labels[i] ?? 0);
        g.forEach((v, j) => {
          reference[j] = (reference[j] ?? 0) + v / best.samples.length;
        });
      }
      const applied = step.body.gradient.map(Number);
      bodyRelError = norm(applied.map((v, j) => v - (reference[j] ?? 0))) / norm(reference);
      if (!bodyWorst || bodyRelError > bodyWorst.error)
        bodyWorst = { step: index, error: bodyRelError };
    }
    return {
      step: index,
      epoch: step.epoch,
      skipped: step.skipped,
      lossScale: step.lossScale ?? null,
      samples: step.fingerprint.samples.length,
      window: best ? { epoch: best.epoch, index: best.index, size: best.samples.length } : null,
      weightRelError,
      bodyRelError,
    };
  });

  const occurrenceStatus: OccurrenceStatus[][] = expectedWeight.map((row, e) =>
    row.map((expected, i): OccurrenceStatus => {
      const applied = appliedIn.get(e * N + i) ?? [];
      if (expected === 0) return "dropped";
      if (applied.length === 0) return "lost";
      if (applied.length > 1) return "duplicated";
      const stepEpoch = trace.steps[applied[0] ?? 0]?.epoch ?? e;
      return stepEpoch > e ? "leaked" : "ok";
    }),
  );
  const result = fixtureResult(trace, analyses, occurrenceStatus, windows, appliedIn, worst, {
    bodyWorst,
    durationMs,
  });
  return { result, trace, steps: analyses, occurrenceStatus, expectedWeight };
}

function fixtureResult(
  trace: Trace,
  analyses: StepAnalysis[],
  status: OccurrenceStatus[][],
  windows: ExpectedWindow[],
  appliedIn: Map<number, number[]>,
  worst: WorstWeight | null,
  extra: { bodyWorst: { step: number; error: number } | null; durationMs: number },
): CheckResult {
  const s = trace.scenario;
  const N = s.datasetSize;
  const count = (e: number, what: OccurrenceStatus) =>
    (status[e] ?? []).filter((x) => x === what).length;
  const epochs = status.map((_, e) => ({
    epoch: e,
    expected: N - count(e, "dropped"),
    applied: count(e, "ok"),
    lost: count(e, "lost"),
    leaked: count(e, "leaked"),
    duplicated: count(e, "duplicated"),
    dropped: count(e, "dropped"),
  }));
  const list = (what: OccurrenceStatus) =>
    status.flatMap((row, epoch) =>
      row.flatMap((x, sample) => (x === what ? [{ epoch, sample }] : [])),
    );
  const cap = <T>(xs: T[]) => xs.slice(0, 100);
  const lost = cap(list("lost")).map((o) => ({ ...o, inSkippedStep: null }));
  const leaked = cap(list("leaked")).map((o) => {
    const step = appliedIn.get(o.epoch * N + o.sample)?.[0] ?? 0;
    return { ...o, step, stepEpoch: trace.steps[step]?.epoch ?? o.epoch };
  });
  const duplicated = cap(list("duplicated")).map((o) => ({
    ...o,
    steps: appliedIn.get(o.epoch * N + o.sample) ?? [],
  }));
  const coverageOk = epochs.every((e) => e.lost + e.leaked + e.duplicated === 0);
  const maxRelError = Math.max(0, ...analyses.map((a) => a.weightRelError));
  const tolerance = TOLERANCE[s.precision];
  const bodyTolerance = BODY_TOLERANCE[s.precision];
  const bodyMax = extra.bodyWorst?.error ?? null;
  const weightingOk = maxRelError <= tolerance && (bodyMax === null || bodyMax <= bodyTolerance);

  const stepSets = trace.steps.map(
    (st) => new Set(st.fingerprint.samples.map((i, k) => (st.fingerprint.epochs[k] ?? 0) * N + i)),
  );
  const mismatches: WindowMismatch[] = [];
  for (const w of windows) {
    const keys = w.samples.map((i) => w.epoch * N + i);
    let bestStep: number | null = null;
    let bestShared = 0;
    stepSets.forEach((set, index) => {
      const shared = keys.filter((k) => set.has(k)).length;
      if (shared > bestShared) [bestStep, bestShared] = [index, shared];
    });
    const stepSamples = bestStep === null ? 0 : (stepSets[bestStep]?.size ?? 0);
    if (bestShared !== keys.length || stepSamples !== keys.length)
      mismatches.push({
        epoch: w.epoch,
        window: w.index,
        microBatches: w.microBatches,
        expectedSamples: keys.length,
        step: bestStep,
        stepSamples,
        sharedSamples: bestShared,
      });
  }
  const expectedSteps = stepsPerEpoch(s) * s.epochs;
  const irregularMicroBatches = (trace.microBatches ?? []).flatMap((mb, position) =>
    mb.samples.length === s.batchSize
      ? []
      : [
          {
            epoch: mb.epoch,
            position: position % microBatchesPerEpoch(s),
            size: mb.samples.length,
          },
        ],
  );
  const windowingOk = mismatches.length === 0 && trace.steps.length === expectedSteps;
  const lostTotal = epochs.reduce((n, e) => n + e.lost, 0);
  const leakedTotal = epochs.reduce((n, e) => n + e.leaked, 0);
  const ok = coverageOk && weightingOk && windowingOk;
  return {
    trainer: trace.trainer.name,
    trainerInfo: trace.trainer,
    scenario: s,
    verdict: ok ? "pass" : "fail",
    durationMs: extra.durationMs,
    properties: {
      coverage: {
        ok: coverageOk,
        message: coverageOk
          ? "every sample applied exactly once per epoch"
          : `${lostTotal} occurrence(s) lost, ${leakedTotal} leaked into a later epoch`,
        epochs,
        lost,
        leaked,
        duplicated,
        dropped: cap(list("dropped")),
      },
      weighting: {
        ok: weightingOk,
        message: weightingOk
          ? "every weight within tolerance of 1/|W|"
          : `max relative weight error ${maxRelError.toPrecision(3)} > tolerance ${tolerance}`,
        maxRelError,
        tolerance,
        detectableRelError: tolerance,
        worst,
        bodyMaxRelError: bodyMax,
        bodyTolerance,
        bodyWorstStep: extra.bodyWorst?.step ?? null,
      },
      windowing: {
        ok: windowingOk,
        message: windowingOk
          ? "one applied step per expected window"
          : `${mismatches.length} window(s) not reproduced; ${trace.steps.length} steps applied, ${expectedSteps} expected`,
        expectedSteps,
        appliedSteps: trace.steps.filter((st) => !st.skipped).length,
        skippedSteps: trace.steps.filter((st) => st.skipped).length,
        mismatches,
        irregularMicroBatches,
      },
    },
  };
}

/** docs-loop on 110/8/4, 2 epochs: 14 tail samples leak into epoch 1 and are lost there. */
export function docsLoopDiagnosis(): CheckDiagnosis {
  return diagnoseFixture(
    simulateTrace({ datasetSize: 110, batchSize: 8, accumulation: 4, epochs: 2 }, "docs-loop"),
  );
}

/** two-loop on 1000/128/4 (logistic body): the last window's 104 samples are over-weighted. */
export function twoLoopDiagnosis(): CheckDiagnosis {
  return diagnoseFixture(
    simulateTrace(
      { datasetSize: 1000, batchSize: 128, accumulation: 4, model: "logistic" },
      "two-loop",
    ),
  );
}

/** The reference loop on 110/8/4, 2 epochs, logistic body: everything passes. */
export function passingDiagnosis(): CheckDiagnosis {
  return diagnoseFixture(
    simulateTrace(
      { datasetSize: 110, batchSize: 8, accumulation: 4, epochs: 2, model: "logistic" },
      "reference",
      { name: "reference", framework: "accumaudit", frameworkVersion: "0.1.0", backend: "cpu" },
    ),
  );
}

/** A large run: docs-loop on N = 10,000, B = 32, K = 3, 5 shuffled epochs (~520 steps). */
export function largeDiagnosis(datasetSize = 10_000): CheckDiagnosis {
  return diagnoseFixture(
    simulateTrace(
      { datasetSize, batchSize: 32, accumulation: 3, epochs: 5, shuffle: 7 },
      "docs-loop",
    ),
    840,
  );
}

function counterexample(diagnosis: CheckDiagnosis, seed: number, shrinks: number): Counterexample {
  const path = `${shrinks}:0:1`;
  return {
    scenario: diagnosis.result.scenario,
    seed,
    path,
    shrinks,
    replay: `npx accumaudit check --trainer ${diagnosis.result.trainer} ${scenarioFlags(diagnosis.result.scenario).join(" ")}`,
    result: diagnosis.result,
  };
}

/**
 * docs-loop's shrunk counterexample as the real search finds it: one sample, micro-batch 1,
 * K = 2, so the loop never steps and nothing is applied (no charts to draw).
 */
export function noStepDiagnosis(): CheckDiagnosis {
  return diagnoseFixture(
    simulateTrace({ datasetSize: 1, batchSize: 1, accumulation: 2 }, "docs-loop"),
  );
}

/** A loop's diagnoses on the mission scenarios (110/8/4 over 2 epochs, 1000/128/4), in order. */
export function missionDiagnoses(loop: FixtureLoop, trainer: TrainerInfo): CheckDiagnosis[] {
  return missionScenarios().map((scenario) =>
    diagnoseFixture(simulateTrace(scenario, loop, trainer)),
  );
}

/** The results of a trainer that could not be run, one per mission scenario. */
function missionErrors(trainer: string, error: string): CheckResult[] {
  return missionScenarios().map((scenario) => ({
    trainer,
    scenario,
    verdict: "error",
    properties: null,
    error,
  }));
}

/**
 * An audit of five trainers, each also checked on the two mission scenarios: two pass, two fail
 * (docs-loop with a one-sample counterexample that never steps, two-loop with 1000/128/4), and
 * one could not run.
 */
export function auditFixture(): {
  audit: AuditResult;
  diagnoses: Record<string, CheckDiagnosis>;
  regressionDiagnoses: Record<string, CheckDiagnosis[]>;
  meta: ReportMeta;
} {
  const docs = noStepDiagnosis();
  const two = twoLoopDiagnosis();
  const lightning: TrainerInfo = {
    name: "python:lightning",
    framework: "pytorch-lightning",
    frameworkVersion: "2.4.0",
    device: "cpu",
  };
  const regressionDiagnoses: Record<string, CheckDiagnosis[]> = {
    reference: missionDiagnoses("reference", { name: "reference" }),
    "docs-loop": missionDiagnoses("docs-loop", { name: "docs-loop" }),
    "two-loop": missionDiagnoses("two-loop", { name: "two-loop" }),
    "python:lightning": missionDiagnoses("reference", lightning),
  };
  const regressions = (trainer: string) =>
    (regressionDiagnoses[trainer] ?? []).map((d) => d.result);
  const accelerateError =
    "python:accelerate: expected module accelerate to import, saw ModuleNotFoundError";
  const trainers: TrainerAudit[] = [
    {
      trainer: "reference",
      verdict: "pass",
      casesRun: 200,
      counterexample: null,
      regressions: regressions("reference"),
    },
    {
      trainer: "docs-loop",
      verdict: "fail",
      casesRun: 3,
      counterexample: counterexample(docs, 1_234_567, 14),
      regressions: regressions("docs-loop"),
    },
    {
      trainer: "two-loop",
      verdict: "fail",
      casesRun: 17,
      counterexample: counterexample(two, 1_234_567, 9),
      regressions: regressions("two-loop"),
    },
    {
      trainer: "python:lightning",
      trainerInfo: lightning,
      verdict: "pass",
      casesRun: 50,
      counterexample: null,
      regressions: regressions("python:lightning"),
    },
    {
      trainer: "python:accelerate",
      trainerInfo: { name: "python:accelerate", framework: "accelerate" },
      verdict: "error",
      casesRun: 0,
      counterexample: null,
      regressions: missionErrors("python:accelerate", accelerateError),
      error: accelerateError,
    },
  ];
  const audit: AuditResult = {
    harnessVersion: "0.1.0",
    date: "2026-11-25T10:00:00.000Z",
    seed: 1_234_567,
    runs: 200,
    backend: "cpu",
    trainers,
  };
  return {
    audit,
    diagnoses: { "docs-loop": docs, "two-loop": two },
    regressionDiagnoses,
    meta: {
      harnessVersion: audit.harnessVersion,
      date: audit.date,
      backend: audit.backend,
      device: "cpu",
      precision: "fp32",
      seed: audit.seed,
      runs: audit.runs,
      command: "npx accumaudit audit --runs 200 --seed 1234567 --html audit.html",
    },
  };
}

/** A long run: step-at-end on 500/8/4 over 100 epochs (1,600 steps), under-weighting each tail. */
export function longRunDiagnosis(): CheckDiagnosis {
  return diagnoseFixture(
    simulateTrace({ datasetSize: 500, batchSize: 8, accumulation: 4, epochs: 100 }, "step-at-end"),
  );
}
