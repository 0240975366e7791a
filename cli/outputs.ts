import { HtmlReporter } from "../reports/html/reporter.js";
import { JsonReporter } from "../reports/json.js";
import { JunitReporter } from "../reports/junit.js";
import { trainerOutputLine } from "../reports/printable.js";
import { ProgressLine } from "../reports/progress.js";
import { combineReporters, type Reporter } from "../reports/reporter.js";
import { TextReporter } from "../reports/text.js";
import { setTrainerOutput } from "../trainers/external/python-trainer.js";
import type { FlagValues } from "./options.js";
import { assertDistinctFiles, assertWritableFile, type OutputFile } from "./output-path.js";
import { UsageError } from "./usage-error.js";

async function outputFile(values: FlagValues, name: string): Promise<OutputFile | undefined> {
  const raw = values[name];
  if (raw === undefined) return undefined;
  if (typeof raw !== "string" || raw.trim() === "")
    throw new UsageError(`--${name}: expected a file path, saw nothing`);
  return assertWritableFile(`--${name}`, raw);
}

/**
 * The reporters the output flags ask for: the progress line (on a terminal, not with --json),
 * text or --json on stdout, --report HTML and --junit XML. The file outputs are checked before
 * any training: each must be a writable file path, and no two may lead to one file.
 */
export async function reportersFromFlags(values: FlagValues): Promise<Required<Reporter>> {
  const json = values.json === true;
  const report = await outputFile(values, "report");
  const junit = await outputFile(values, "junit");
  assertDistinctFiles([report, junit].filter((file) => file !== undefined));
  const reporters: Reporter[] = [
    new ProgressLine(!json),
    json ? new JsonReporter() : new TextReporter(),
    ...(report ? [new HtmlReporter(report.path, process.stderr)] : []),
    ...(junit ? [new JunitReporter(junit.path, process.stderr)] : []),
  ];
  return combineReporters(reporters);
}

/**
 * Shows what Python trainers print (their stdout and stderr), each line on stderr prefixed with
 * the trainer's name, control characters escaped and long lines cut (reports/printable.ts); never
 * on stdout, which carries the results.
 */
export function forwardTrainerOutput(stream: NodeJS.WriteStream = process.stderr): void {
  const clear = stream.isTTY ? "\r\x1b[2K" : "";
  setTrainerOutput((trainer, line) => {
    stream.write(`${clear}${trainerOutputLine(trainer, line)}\n`);
  });
}
