import type { CheckErrorCause } from "../../properties/outcome.js";
import { cutText, printableText } from "../printable.js";
import { scenarioShape } from "../words.js";

/**
 * Why a check could not judge the trainer, in one line: a trainer's message is cut when long and
 * its control characters are escaped (reports/printable.ts).
 */
export function checkErrorMessage(cause: CheckErrorCause): string {
  switch (cause.kind) {
    case "trainer":
      return printableText(cause.message);
    case "scenario-mismatch":
      return `trace.scenario.${cause.field}: expected ${JSON.stringify(cause.sent)} (the scenario sent), saw ${JSON.stringify(cause.received)}`;
    case "skipped":
      return `not run: the known counterexample ${scenarioShape(cause.timedOut)} timed out before it (no answer within ${Number((cause.timeoutMs / 1000).toPrecision(3))} s, the per-case --timeout), and a hung trainer is waited for only once`;
  }
}

/** The trainer's own frames an error passed through, one line each: "my_loop.py:11 in train: helper(batch)". */
export function tracebackLines(cause: CheckErrorCause): string[] {
  if (cause.kind !== "trainer") return [];
  return (cause.traceback ?? []).map(
    (f) =>
      `${printableText(f.file)}:${f.line} in ${printableText(f.function)}${f.code ? `: ${printableText(f.code)}` : ""}`,
  );
}

/** The last lines the trainer printed before its error, each shown as one line, long ones cut. */
export function printedLines(cause: CheckErrorCause): string[] {
  return cause.kind === "trainer" ? (cause.output ?? []).map((line) => printableText(line)) : [];
}

/**
 * A trainer error's details as `--json` carries them: its frames and printed lines as they were,
 * each text cut when long (JSON escapes the rest).
 */
export function errorDetailJson(cause: CheckErrorCause) {
  if (cause.kind !== "trainer") return {};
  return {
    ...(cause.traceback
      ? {
          traceback: cause.traceback.map((f) => ({
            ...f,
            file: cutText(f.file),
            function: cutText(f.function),
            code: cutText(f.code),
          })),
        }
      : {}),
    ...(cause.output ? { output: cause.output.map((line) => cutText(line)) } : {}),
  };
}
