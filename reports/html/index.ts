/** Self-contained HTML divergence reports: the whole public API of reports/html. */
export { renderAuditReport } from "./audit-report.js";
export { renderCheckReport } from "./check-report.js";
export { HtmlReporter } from "./reporter.js";
