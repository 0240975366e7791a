import type { CheckJudgement, PropertyName } from "../../properties/outcome.js";
import { runCheck } from "../../properties/run-check.js";
import { checkErrorMessage } from "../../reports/sentences/index.js";
import { parseScenario, type ScenarioInput } from "../../trainers/contract/scenario.js";
import type { Trainer } from "../../trainers/contract/trainer.js";
import { createPythonTrainer } from "../../trainers/external/index.js";

/** A Python trainer with a run timeout long enough for the frameworks' first import. */
export const pythonTrainer = (name: string): Trainer =>
  createPythonTrainer(name, { timeoutMs: 120_000 });

/** The check of a Python trainer that must have run: an error is a broken test setup. */
export async function judgePython(name: string, scenario: ScenarioInput): Promise<CheckJudgement> {
  const check = await runCheck(pythonTrainer(name), parseScenario(scenario));
  if (check.verdict === "error") throw new Error(`${name}: ${checkErrorMessage(check.error)}`);
  return check;
}

/**
 * The one-line error of a Python trainer that refuses the scenario (a step-semantics field its
 * framework has no option for): the check must be an error of one line.
 */
export async function refusedPython(name: string, scenario: ScenarioInput): Promise<string> {
  const check = await runCheck(pythonTrainer(name), parseScenario(scenario));
  if (check.verdict !== "error")
    throw new Error(`${name}: expected a refusal, saw ${check.verdict}`);
  const message = checkErrorMessage(check.error);
  const lines = message.trim().split("\n").length;
  if (lines !== 1) throw new Error(`${name}: expected a one-line refusal, saw ${lines} lines`);
  return message;
}

/** The properties a check refutes. */
export const refuted = (check: CheckJudgement): PropertyName[] =>
  (Object.keys(check.properties) as PropertyName[]).filter((p) => !check.properties[p].ok);
