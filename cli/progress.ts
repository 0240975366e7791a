import type { AuditProgress } from "../properties/audit.js";

/** A one-line progress display on a terminal's stderr; silent elsewhere. */
export class ProgressLine {
  private readonly active: boolean;
  private lastWrite = 0;

  constructor(
    enabled: boolean,
    private readonly stream: NodeJS.WriteStream = process.stderr,
  ) {
    this.active = enabled && stream.isTTY === true;
  }

  /** Shows where a trainer's search stands (at most ten updates a second). */
  update(p: AuditProgress): void {
    if (!this.active) return;
    const now = Date.now();
    if (now - this.lastWrite < 100) return;
    this.lastWrite = now;
    const phase =
      p.phase === "search" ? `scenario ${p.cases}/${p.runs}` : `shrinking, ${p.cases} tried`;
    this.write(`${p.trainer}: ${phase}`);
  }

  /** Removes the progress line. */
  clear(): void {
    if (this.active) this.stream.write("\r\x1b[2K");
  }

  private write(text: string): void {
    const width =
      this.stream.columns && this.stream.columns > 1 ? this.stream.columns - 1 : text.length;
    this.stream.write(`\r\x1b[2K${text.slice(0, width)}`);
  }
}
