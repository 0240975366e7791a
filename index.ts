/**
 * accumaudit's public API: the scenario and trace contract, the oracle, the properties, the
 * audit, the trainers and the reports. The `accumaudit` command line is built on it.
 */
export {
  missionScenarios,
  type ScenarioSpace,
  scenarioArbitrary,
} from "./properties/arbitraries.js";
export {
  type AuditOptions,
  auditTrainer,
  replayCommand,
  type TrainerAuditOutcome,
} from "./properties/audit.js";
export { diagnoseTrace } from "./properties/diagnose.js";
export type * from "./properties/result.js";
export { runCheck } from "./properties/run-check.js";
export { TOLERANCES, toleranceFor } from "./properties/tolerance.js";
export { expectRun } from "./reference/expectation.js";
export {
  type ReportMeta,
  renderAuditReport,
  renderCheckReport,
  writeReport,
} from "./reports/html/index.js";
export { formatAudit, formatCheck } from "./reports/text.js";
export * from "./trainers/contract/probe.js";
export * from "./trainers/contract/scenario.js";
export * from "./trainers/contract/trace.js";
export * from "./trainers/contract/trainer.js";
export {
  createProtocolTrainer,
  createPythonTrainer,
  disposePythonWorkers,
  PYTHON_TRAINER_NAMES,
} from "./trainers/external/index.js";
export { listTrainers, resolveTrainer } from "./trainers/registry.js";
export { createTfjsTrainers, referenceLoop, tfjsTrainerNames } from "./trainers/tfjs/index.js";
