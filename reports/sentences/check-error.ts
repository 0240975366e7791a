import type { CheckErrorCause } from "../../properties/outcome.js";
import { stepName } from "../words.js";

/** Why a check could not judge the trainer, in one line. */
export function checkErrorMessage(cause: CheckErrorCause): string {
  switch (cause.kind) {
    case "trainer":
      return cause.message;
    case "scenario-mismatch":
      return `trace.scenario.${cause.field}: expected ${JSON.stringify(cause.sent)} (the scenario sent), saw ${JSON.stringify(cause.received)}`;
    case "non-finite":
      return `${stepName(cause.step, cause.epoch)} applied a non-finite ${cause.part} (entry ${cause.entry}: ${cause.value}); expected finite numbers in every applied step`;
  }
}

/** The trainer's own frames an error passed through, one line each: "my_loop.py:11 in train: helper(batch)". */
export function tracebackLines(cause: CheckErrorCause): string[] {
  if (cause.kind !== "trainer") return [];
  return (cause.traceback ?? []).map(
    (f) => `${f.file}:${f.line} in ${f.function}${f.code ? `: ${f.code}` : ""}`,
  );
}
