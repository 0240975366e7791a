import { replayCommand } from "../../cli/replay.js";
import { missionScenarios } from "../../properties/arbitraries.js";
import { auditTrainer } from "../../properties/audit.js";
import { diagnoseTrace } from "../../properties/diagnose.js";
import type { CheckJudgement, TrainerAuditOutcome } from "../../properties/outcome.js";
import type { RunStart } from "../../reports/reporter.js";
import { makeDataset } from "../../trainers/contract/probe.js";
import type { ScenarioInput } from "../../trainers/contract/scenario.js";
import type { Trace } from "../../trainers/contract/trace.js";
import type { Trainer } from "../../trainers/contract/trainer.js";
import { type SimulatedLoop, simulatedTrainer, simulateTrace } from "./simulated-trace.js";

/** The real oracle's judgement of a trace. */
export function judge(trace: Trace): CheckJudgement {
  return diagnoseTrace(trace, makeDataset(trace.scenario));
}

/** The real oracle's judgement of a simulated loop on a scenario. */
export function judgeLoop(scenario: ScenarioInput, loop: SimulatedLoop): CheckJudgement {
  return judge(simulateTrace(scenario, loop));
}

/** docs-loop on 110/8/4 over 2 epochs: the 14-sample tail of epoch 1 leaks into epoch 2 and is lost there. */
export const docsLoopCheck = () =>
  judgeLoop({ datasetSize: 110, batchSize: 8, accumulation: 4, epochs: 2 }, "docs-loop");

/** two-loop on 1000/128/4 with a logistic body: the last micro-batch's 104 samples get 1/416, not 1/488. */
export const twoLoopCheck = () =>
  judgeLoop({ datasetSize: 1000, batchSize: 128, accumulation: 4, model: "logistic" }, "two-loop");

/** The reference loop on 110/8/4 over 2 epochs with a logistic body: everything holds. */
export const passingCheck = () =>
  judgeLoop(
    { datasetSize: 110, batchSize: 8, accumulation: 4, epochs: 2, model: "logistic" },
    "reference",
  );

/** docs-loop on 1/1/2: it never steps, so nothing is applied and there is nothing to draw. */
export const noStepCheck = () =>
  judgeLoop({ datasetSize: 1, batchSize: 1, accumulation: 2 }, "docs-loop");

/** A large run: docs-loop on N = 10,000, B = 32, K = 3, 5 shuffled epochs (about 520 steps). */
export const largeCheck = () =>
  judgeLoop(
    { datasetSize: 10_000, batchSize: 32, accumulation: 3, epochs: 5, shuffle: 7 },
    "docs-loop",
  );

/** A long run: tail-step on 500/8/4 over 100 epochs (1,600 steps), under-weighting each tail. */
export const longRunCheck = () =>
  judgeLoop({ datasetSize: 500, batchSize: 8, accumulation: 4, epochs: 100 }, "tail-step");

/** A run's start as the command line makes it, with fixed metadata. */
export function testRun(kind: RunStart["kind"], trainers: readonly string[] = []): RunStart {
  return {
    kind,
    meta: {
      harnessVersion: "0.1.0",
      date: "2026-11-25T10:00:00.000Z",
      backend: "cpu",
      device: "cpu",
      precision: "fp32",
      ...(kind === "audit" ? { seed: 1_234_567, runs: 40 } : {}),
      command: "accumaudit audit --runs 40 --seed 1234567 --report audit.html",
    },
    trainers,
    replay: replayCommand(),
  };
}

/** The error a trainer whose framework is missing raises on every run. */
export const MISSING_FRAMEWORK =
  "python:accelerate: expected module accelerate to import, saw ModuleNotFoundError";

/**
 * A real audit (fast-check search and the two mission scenarios, judged by the real oracle) of
 * five simulated trainers: the reference and a Lightning-labelled reference pass, docs-loop and
 * two-loop fail, and one cannot run because its framework is missing.
 */
export async function auditFixture(): Promise<{ audits: TrainerAuditOutcome[]; run: RunStart }> {
  const missing: Trainer = {
    name: "python:accelerate",
    description: "a framework that is not installed",
    run: async () => {
      throw new Error(MISSING_FRAMEWORK);
    },
  };
  const trainers = [
    simulatedTrainer("reference", "reference"),
    simulatedTrainer("docs-loop", "docs-loop"),
    simulatedTrainer("two-loop", "two-loop"),
    simulatedTrainer("python:lightning", "reference", {
      framework: "lightning",
      frameworkVersion: "2.6.6",
      device: "cpu",
    }),
    missing,
  ];
  const audits: TrainerAuditOutcome[] = [];
  for (const trainer of trainers)
    audits.push(
      await auditTrainer(trainer, {
        runs: 40,
        seed: 1_234_567,
        space: { models: ["fingerprint", "logistic"] },
        regressions: missionScenarios(),
      }),
    );
  return {
    audits,
    run: testRun(
      "audit",
      trainers.map((t) => t.name),
    ),
  };
}
