/** Self-contained HTML divergence reports: the whole public API of reports/html. */
export { renderAuditReport } from "./audit-report.js";
export { renderCheckReport } from "./check-report.js";
export { explainCheck } from "./explanation.js";
export type { ReportMeta } from "./meta.js";
export { writeReport } from "./write-report.js";
