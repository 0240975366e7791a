import type { CheckOutcome, TrainerAuditOutcome } from "../properties/outcome.js";
import { isStreamTarget, resolveOutput } from "./output-target.js";
import type { Interrupted, Reporter, RunEnd, RunStart } from "./reporter.js";
import { writeReport } from "./write-report.js";

/** What a file reporter has received: every trainer's audit so far, or the check. */
export interface FileContents {
  run: RunStart;
  audits: readonly TrainerAuditOutcome[];
  check?: CheckOutcome;
  /** Present when a signal ended the run early. */
  interrupted?: Interrupted;
}

/**
 * A reporter whose output is one file, rewritten (atomically) after every trainer and after a
 * check, so that an interrupted audit keeps what it found; at the end it names the file and its
 * size on `announce` as "`label`: path (N bytes)". A FIFO or a device (see `isStreamTarget`) is
 * written once, at the run's end: a reader there would take every rewrite as more of one file.
 */
export class FileReporter implements Reporter {
  private run: RunStart | undefined;
  private readonly audits: TrainerAuditOutcome[] = [];
  /** Whether the path leads to a FIFO or a device; looked up at the first write. */
  private stream: boolean | undefined;
  /** What a stream target gets at the run's end. */
  private pending: FileContents | undefined;
  /** Size in bytes of the last file written; 0 before the first. */
  bytes = 0;

  constructor(
    readonly path: string,
    private readonly label: string,
    private readonly render: (contents: FileContents) => string | Promise<string>,
    private readonly announce?: NodeJS.WritableStream,
  ) {}

  onRunStart(run: RunStart): void {
    this.run = run;
  }

  async onTrainerEnd(audit: TrainerAuditOutcome): Promise<void> {
    this.audits.push(audit);
    await this.write({ run: this.started(), audits: this.audits });
  }

  async onCheckEnd(check: CheckOutcome): Promise<void> {
    await this.write({ run: this.started(), audits: this.audits, check });
  }

  /** An audit a signal ended early is written once more, marked as interrupted. */
  async onRunEnd(end: RunEnd): Promise<void> {
    const run = this.started();
    if (end.interrupted && run.kind === "audit")
      await this.write({ run, audits: this.audits, interrupted: end.interrupted });
    if (this.pending) {
      this.bytes = await writeReport(this.path, this.render(this.pending));
      this.pending = undefined;
    }
    if (this.bytes > 0) this.announce?.write(`${this.label}: ${this.path} (${this.bytes} bytes)\n`);
  }

  private async write(contents: FileContents): Promise<void> {
    this.stream ??= isStreamTarget((await resolveOutput(this.path)).stats);
    if (this.stream) this.pending = contents;
    else this.bytes = await writeReport(this.path, this.render(contents));
  }

  private started(): RunStart {
    if (!this.run) throw new Error(`${this.label} reporter: an outcome before the run started`);
    return this.run;
  }
}
