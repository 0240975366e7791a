import { missionScenarios } from "../../properties/arbitraries.js";
import { auditTrainer } from "../../properties/audit.js";
import type { TrainerAuditOutcome } from "../../properties/outcome.js";
import type { RunStart } from "../../reports/reporter.js";
import type { ScenarioInput } from "../../trainers/contract/scenario.js";
import { judgeLoop, testRun } from "./outcomes.js";
import { simulatedTrainer } from "./simulated-trace.js";

/**
 * The shrunk token-weighted counterexample: docs-loop on 2/1/2 with loss tokens 1 and 2. Each
 * micro-batch's token mean is divided by K = 2, so sample 0 (1 loss token) gets 1/2 where token
 * weighting gives 1/3, and sample 1 (2 loss tokens) 1/2 where it gives 2/3.
 */
export const tokenCounterexampleCheck = () =>
  judgeLoop(
    { datasetSize: 2, batchSize: 1, accumulation: 2, weighting: "tokens", lengths: [1, 2] },
    "docs-loop",
  );

/** 7/2/2 with a causal-lm body and loss tokens 3, 1, 0, 2 repeated. */
const CAUSAL_LM_7_2_2: ScenarioInput = {
  datasetSize: 7,
  batchSize: 2,
  accumulation: 2,
  model: "causal-lm",
  weighting: "tokens",
  lengths: [3, 1, 0, 2],
};

/**
 * two-loop on 7/2/2 with a causal-lm body and loss tokens 3, 1, 0, 2 repeated: per-micro-batch
 * token means over-weight the 2-token micro-batch of the first window; sample 2 has no loss tokens.
 */
export const tokenTwoLoopCheck = () => judgeLoop(CAUSAL_LM_7_2_2, "two-loop");

/** The reference loop on the same scenario: every weight is n_i/T_W. */
export const tokenPassingCheck = () => judgeLoop(CAUSAL_LM_7_2_2, "reference");

/**
 * A real token-weighted audit (fast-check search over token-weighted scenarios and the mission
 * scenarios under token weighting, judged by the real oracle) of the simulated reference and
 * docs-loop, with run metadata that names the weighting.
 */
export async function tokenAuditFixture(): Promise<{
  audits: TrainerAuditOutcome[];
  run: RunStart;
}> {
  const trainers = [
    simulatedTrainer("reference", "reference"),
    simulatedTrainer("docs-loop", "docs-loop"),
  ];
  const audits: TrainerAuditOutcome[] = [];
  for (const trainer of trainers)
    audits.push(
      await auditTrainer(trainer, {
        runs: 20,
        seed: 42,
        space: { weightings: ["tokens"] },
        regressions: missionScenarios("fingerprint", "fp32", 1, "tokens"),
      }),
    );
  const run = testRun(
    "audit",
    trainers.map((t) => t.name),
  );
  return { audits, run: { ...run, meta: { ...run.meta, weighting: "tokens" } } };
}
