import type { AuditProgress } from "../properties/audit.js";
import { printable } from "./printable.js";
import type { Reporter } from "./reporter.js";

function describe(p: AuditProgress): string {
  switch (p.phase) {
    case "check":
      return "checking";
    case "regressions":
      return `known counterexample ${p.cases} of ${p.runs}`;
    case "search":
      return `case ${p.cases} of ${p.runs}`;
    case "shrink":
      return `shrinking, case ${p.cases}`;
  }
}

/** Seconds a case runs before the line says for how long. */
const HEARTBEAT_AFTER_S = 2;

/**
 * A one-line progress display on a terminal's stderr; silent elsewhere. While a case runs it
 * beats every second: "python:my_loop: case 3 of 100, running for 40 s".
 */
export class ProgressLine implements Reporter {
  private readonly active: boolean;
  private lastWrite = 0;
  private running: { progress: AuditProgress; since: number } | undefined;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    enabled: boolean,
    private readonly stream: NodeJS.WriteStream = process.stderr,
    private readonly now: () => number = Date.now,
  ) {
    this.active = enabled && stream.isTTY === true;
  }

  /** Shows where a trainer's audit stands (at most ten updates a second). */
  onProgress(p: AuditProgress): void {
    if (!this.active) return;
    this.running = p.state === "started" ? { progress: p, since: this.now() } : undefined;
    if (this.running && !this.timer) {
      this.timer = setInterval(() => this.beat(), 1000);
      this.timer.unref();
    }
    const now = this.now();
    if (now - this.lastWrite < 100) return;
    this.lastWrite = now;
    this.write(`${printable(p.trainer)}: ${describe(p)}`);
  }

  /** Rewrites the line of a case running for a while with how long it has run. */
  beat(): void {
    if (!this.active || !this.running) return;
    const seconds = Math.floor((this.now() - this.running.since) / 1000);
    if (seconds < HEARTBEAT_AFTER_S) return;
    const { progress } = this.running;
    this.write(`${printable(progress.trainer)}: ${describe(progress)}, running for ${seconds} s`);
  }

  /** Removes the line before a trainer's result is printed. */
  onTrainerEnd(): void {
    this.clear();
  }

  onCheckEnd(): void {
    this.clear();
  }

  onRunEnd(): void {
    this.clear();
  }

  private clear(): void {
    this.running = undefined;
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    if (this.active) this.stream.write("\r\x1b[2K");
  }

  private write(text: string): void {
    const width =
      this.stream.columns && this.stream.columns > 1 ? this.stream.columns - 1 : text.length;
    this.stream.write(`\r\x1b[2K${text.slice(0, width)}`);
  }
}
