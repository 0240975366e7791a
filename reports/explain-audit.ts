import type { TrainerAuditOutcome } from "../properties/outcome.js";
import type { Scenario } from "../trainers/contract/scenario.js";
import { SCENARIO_FIELDS } from "../trainers/contract/scenario-fields.js";
import type { ReplayCommand } from "./reporter.js";
import { formatTrainerAudit, type SearchReplay } from "./text.js";

/** The scenario's fields that differ from their defaults, as a parseScenario argument. */
function scenarioLiteral(scenario: Scenario): string {
  const fields = SCENARIO_FIELDS.filter((f) => !(f.optional && scenario[f.key] === f.default)).map(
    (f) => `${f.key}: ${JSON.stringify(scenario[f.key])}`,
  );
  return `{ ${fields.join(", ")} }`;
}

/**
 * The code that replays a check from a test or a script: `runCheck` of the trainer on the
 * scenario, its defaults left out.
 */
export const codeReplay: ReplayCommand = (_trainer, scenario) =>
  `runCheck(trainer, parseScenario(${scenarioLiteral(scenario)}))`;

/** The audit options that replay a search, as code. */
const codeSearchReplay: SearchReplay = (seed, path) =>
  `auditTrainer(trainer, { ...options, seed: ${seed}, path: ${JSON.stringify(path)} })`;

/**
 * A trainer's audit in plain text, as the command line prints it: the verdict, a shrunk
 * counterexample with what each property found and how to fix it, the regression scenarios.
 * Replays are written as code (`runCheck(...)`, `auditTrainer(...)`) unless `replay` says otherwise. Made for
 * assertion messages: `expect(outcome.verdict, explainAudit(outcome)).toBe("pass")`.
 */
export function explainAudit(
  outcome: TrainerAuditOutcome,
  replay: ReplayCommand = codeReplay,
): string {
  return formatTrainerAudit(outcome, replay, codeSearchReplay);
}
