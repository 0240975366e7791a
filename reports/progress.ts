import type { AuditProgress } from "../properties/audit.js";
import type { Reporter } from "./reporter.js";

function describe(p: AuditProgress): string {
  switch (p.phase) {
    case "regressions":
      return `regression scenario ${p.cases}/${p.runs}`;
    case "search":
      return `scenario ${p.cases}/${p.runs}`;
    case "shrink":
      return `shrinking, ${p.cases} tried`;
  }
}

/** A one-line progress display on a terminal's stderr; silent elsewhere. */
export class ProgressLine implements Reporter {
  private readonly active: boolean;
  private lastWrite = 0;

  constructor(
    enabled: boolean,
    private readonly stream: NodeJS.WriteStream = process.stderr,
  ) {
    this.active = enabled && stream.isTTY === true;
  }

  /** Shows where a trainer's audit stands (at most ten updates a second). */
  onProgress(p: AuditProgress): void {
    if (!this.active) return;
    const now = Date.now();
    if (now - this.lastWrite < 100) return;
    this.lastWrite = now;
    this.write(`${p.trainer}: ${describe(p)}`);
  }

  /** Removes the line before a trainer's result is printed. */
  onTrainerEnd(): void {
    this.clear();
  }

  onCheckEnd(): void {
    this.clear();
  }

  private clear(): void {
    if (this.active) this.stream.write("\r\x1b[2K");
  }

  private write(text: string): void {
    const width =
      this.stream.columns && this.stream.columns > 1 ? this.stream.columns - 1 : text.length;
    this.stream.write(`\r\x1b[2K${text.slice(0, width)}`);
  }
}
