/** What accumaudit shows: reporters for every output and the words they share. */

export { type Advice, adviceFor, type MistakeId, mistakesOf } from "./advice.js";
export { codeReplay, explainAudit } from "./explain-audit.js";
export { FileReporter } from "./file-reporter.js";
export { HtmlReporter, renderAuditReport, renderCheckReport } from "./html/index.js";
export { AUDIT_JSON_SCHEMA_VERSION, checkJson, JsonReporter, trainerAuditJson } from "./json.js";
export { JunitReporter, renderJunit } from "./junit.js";
export { ProgressLine } from "./progress.js";
export type { ReplayCommand, Reporter, RunEnd, RunMeta, RunStart } from "./reporter.js";
export { combineReporters } from "./reporter.js";
export {
  checkErrorMessage,
  coverageMessage,
  explainCheck,
  propertyMessage,
  weightingMessage,
  windowingMessage,
} from "./sentences/index.js";
export {
  formatAdvice,
  formatAuditHeader,
  formatAuditSummary,
  formatCheck,
  formatTrainerAudit,
  TextReporter,
  weightingLine,
} from "./text.js";
export {
  formatNumber,
  scenarioLabel,
  scenarioShape,
  trainerLabel,
  WEIGHTING_WORDS,
} from "./words.js";
export { writeReport } from "./write-report.js";
