import type { CheckOutcome, TrainerAuditOutcome } from "../../properties/outcome.js";
import type { Reporter, RunStart } from "../reporter.js";
import { writeReport } from "../write-report.js";
import { renderAuditReport } from "./audit-report.js";
import { renderCheckReport } from "./check-report.js";

/**
 * Writes the HTML report of a check, or of an audit rewritten after every trainer so that an
 * interrupted audit keeps what it found; at the end, names the file and its size on `announce`.
 */
export class HtmlReporter implements Reporter {
  private run: RunStart | undefined;
  private readonly audits: TrainerAuditOutcome[] = [];
  /** Size in bytes of the last report written; 0 before the first. */
  bytes = 0;

  constructor(
    readonly path: string,
    private readonly announce?: NodeJS.WritableStream,
  ) {}

  onRunStart(run: RunStart): void {
    this.run = run;
  }

  async onTrainerEnd(audit: TrainerAuditOutcome): Promise<void> {
    this.audits.push(audit);
    const run = this.started();
    this.bytes = await writeReport(this.path, renderAuditReport({ audits: this.audits, run }));
  }

  async onCheckEnd(check: CheckOutcome): Promise<void> {
    const run = this.started();
    this.bytes = await writeReport(this.path, renderCheckReport({ check, run }));
  }

  onRunEnd(): void {
    if (this.bytes > 0) this.announce?.write(`report: ${this.path} (${this.bytes} bytes)\n`);
  }

  private started(): RunStart {
    if (!this.run) throw new Error("HtmlReporter: an outcome before onRunStart");
    return this.run;
  }
}
