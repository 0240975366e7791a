import type { ReplayCommand } from "../reports/reporter.js";
import { scenarioFlags } from "./scenario-flags.js";

/** A word as a POSIX shell reads it back: bare when safe, else in single quotes. */
export function shellWord(word: string): string {
  return /^[\w@%+=:,./-]+$/.test(word) ? word : `'${word.replaceAll("'", `'\\''`)}'`;
}

/**
 * The `accumaudit check` command that replays a trainer on a scenario, with the run flags
 * (backend, interpreter, device) the run used.
 */
export function replayCommand(runFlags: readonly string[]): ReplayCommand {
  return (trainer, scenario) =>
    ["accumaudit", "check", "--trainer", trainer, ...scenarioFlags(scenario), ...runFlags]
      .map(shellWord)
      .join(" ");
}
