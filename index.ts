/**
 * accumaudit's public API: the scenario and trace contract, the oracle, the properties and their
 * outcomes, the audit, the trainers and the reporters. The `accumaudit` command line is built on it.
 */
export {
  DEFAULT_SPACE,
  defaultMaxDatasetSize,
  missionScenarios,
  type ScenarioSpace,
  scenarioArbitrary,
} from "./properties/arbitraries.js";
export {
  type AuditOptions,
  type AuditProgress,
  auditTrainer,
  type CaseProgress,
  searchVerdict,
  worstVerdict,
} from "./properties/audit.js";
export { diagnoseTrace } from "./properties/diagnose.js";
export type {
  AppliedEntry,
  CheckError,
  CheckErrorCause,
  CheckJudgement,
  CheckOutcome,
  Counterexample,
  CoverageFinding,
  CoverageResult,
  EpochCoverage,
  OccurrenceStatus,
  OccurrenceWeights,
  PropertyName,
  PropertyResults,
  SearchOutcome,
  StepAnalysis,
  TrainerAuditOutcome,
  Verdict,
  WeightGroup,
  WeightingFinding,
  WeightingResult,
  WindowingFinding,
  WindowingResult,
  WindowRef,
  WorstWeight,
} from "./properties/outcome.js";
export { PROPERTY_NAMES } from "./properties/outcome.js";
export { leastDatasetSize, type ScenarioPins } from "./properties/pinned-size.js";
export {
  type KnownCounterexample,
  type LeftOutReason,
  missionCounterexamples,
  type PinnedRegressions,
  pinRegressions,
  type RegressionLeftOut,
  type RegressionPurpose,
} from "./properties/regressions.js";
export { runCheck } from "./properties/run-check.js";
export { type SampleSet, sampleIds } from "./properties/sample-set.js";
export { ranPrecision, TOLERANCES, type Tolerance, toleranceFor } from "./properties/tolerance.js";
export { type DrawPlan, type DrawWindow, planDraws } from "./reference/draw-plan.js";
export { expectRun } from "./reference/expectation.js";
export {
  type Advice,
  AUDIT_JSON_SCHEMA_VERSION,
  adviceFor,
  checkJson,
  codeReplay,
  combineReporters,
  explainAudit,
  explainCheck,
  formatAdvice,
  formatCheck,
  formatTrainerAudit,
  HtmlReporter,
  JsonReporter,
  JunitReporter,
  type MistakeId,
  mistakesOf,
  ProgressLine,
  propertyMessage,
  type ReplayCommand,
  type Reporter,
  type RunEnd,
  type RunMeta,
  type RunStart,
  renderAuditReport,
  renderCheckReport,
  TextReporter,
  trainerAuditJson,
  writeReport,
} from "./reports/index.js";
export {
  bodyParameterCount,
  type Dataset,
  EMBEDDING,
  FEATURES,
  FINGERPRINT_COEFFICIENT,
  fingerprintIndex,
  HIDDEN,
  IGNORE_INDEX,
  initialBodyParameters,
  lossTokenCounts,
  lossUnits,
  makeDataset,
  makeTokenSequences,
  type TokenSequences,
  VOCABULARY,
} from "./trainers/contract/probe.js";
export {
  DEFAULT_LENGTHS,
  describeIssues,
  droppedPerEpoch,
  MAX_DRAWS,
  MAX_FINGERPRINT_PARAMETERS,
  MAX_LOSS_TOKENS,
  MODELS,
  MODELS_BY_WEIGHTING,
  microBatchesPerEpoch,
  PRECISIONS,
  parseScenario,
  SAMPLINGS,
  type Scenario,
  ScenarioError,
  type ScenarioInput,
  ScenarioSchema,
  stepsPerEpoch,
  WEIGHTINGS,
} from "./trainers/contract/scenario.js";
export {
  SCENARIO_FIELDS,
  type ScenarioField,
  type ScenarioKey,
  scenarioField,
  scenarioJsonSchema,
} from "./trainers/contract/scenario-fields.js";
export {
  type FingerprintGradient,
  type MicroBatch,
  parseTrace,
  type Step,
  TRACE_VERSION,
  type Trace,
  TraceError,
  TraceSchema,
  type TrainerInfo,
  TrainerInfoSchema,
} from "./trainers/contract/trace.js";
export {
  BACKENDS,
  type Backend,
  type RunOptions,
  type RunProgress,
  type Trainer,
  TrainerError,
} from "./trainers/contract/trainer.js";
export {
  createProtocolTrainer,
  createPythonTrainer,
  decodeWireTrace,
  disposePythonWorkers,
  PYTHON_TRAINER_NAMES,
  WireTraceSchema,
} from "./trainers/external/index.js";
export { listTrainers, resolveTrainer } from "./trainers/registry.js";
export {
  createLoader,
  createTfjsTrainers,
  defineTfjsTrainer,
  docsLoop,
  type GradientBuffer,
  LossScaler,
  type MicroBatchLoader,
  type MicroBatchSamples,
  openSession,
  ProbeModel,
  referenceLoop,
  runSession,
  type SgdOptimizer,
  type TfjsLoop,
  type TfjsTrainerDefinition,
  type TrainingSession,
  tf,
  tfjsTrainerNames,
} from "./trainers/tfjs/index.js";
