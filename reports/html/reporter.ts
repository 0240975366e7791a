import { FileReporter } from "../file-reporter.js";
import { renderAuditReport } from "./audit-report.js";
import { renderCheckReport } from "./check-report.js";

/** The HTML report of a check or of an audit, rewritten after every trainer. */
export class HtmlReporter extends FileReporter {
  constructor(path: string, announce?: NodeJS.WritableStream) {
    super(
      path,
      "report",
      ({ run, audits, check, interrupted }) =>
        check
          ? renderCheckReport({ check, run })
          : renderAuditReport({ audits, run, ...(interrupted ? { interrupted } : {}) }),
      announce,
    );
  }
}
