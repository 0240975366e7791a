import type { ScenarioPins } from "../properties/pinned-size.js";
import type { LeftOutReason, RegressionLeftOut } from "../properties/regressions.js";
import { SCENARIO_FIELDS } from "../trainers/contract/scenario-fields.js";
import type { RunStart } from "./reporter.js";
import { plural, scenarioShape } from "./words.js";

/** One pinned field in the words of a scenario label: "B 16", "2 epochs", "drop_last", "fp16". */
function pinWords(key: keyof ScenarioPins, pins: ScenarioPins): string | null {
  const value = pins[key];
  if (value === undefined) return null;
  const field = SCENARIO_FIELDS.find((f) => f.key === key);
  if (key === "epochs") return plural(value as number, "epoch");
  if (key === "precision") return String(value);
  if (key === "model") return `${value} body`;
  if (field?.kind === "switch") return value ? field.label : `no ${field.label}`;
  if (["datasetSize", "batchSize", "accumulation", "worldSize"].includes(key))
    return `${field?.symbol} ${value}`;
  return `${field?.label} ${Array.isArray(value) ? value.join(",") : String(value)}`;
}

/** The pinned fields, schema order: "B 16 · drop_last · shuffle 3"; empty when none is. */
export function pinsText(pins: ScenarioPins): string {
  return SCENARIO_FIELDS.map((f) => pinWords(f.key, pins))
    .filter((words) => words !== null)
    .join(" · ");
}

/** Why a known counterexample was left out, in words. */
function reasonText(reason: LeftOutReason): string {
  switch (reason.kind) {
    case "invalid":
      return `with the pins it is no valid scenario (${reason.message})`;
    case "complete-last-window":
      return `with the pins every epoch ends in a complete window (${plural(reason.microBatches, "micro-batch", "micro-batches")} per rank, K ${reason.accumulation}): it would no longer check an incomplete last window`;
    case "last-micro-batch-full":
      return "with the pins its last micro-batch is full: it would no longer check a short micro-batch beside full ones";
    case "last-micro-batch-dropped":
      return "with the pins drop_last drops its short last micro-batch: it would no longer check a short micro-batch beside full ones";
    case "last-micro-batch-alone":
      return "with the pins its short last micro-batch is alone in its window: it would no longer check a short micro-batch beside full ones";
  }
}

/** A left-out known counterexample in one line: "1000/128/4 x1: with the pins drop_last drops ...". */
export function leftOutText(leftOut: RegressionLeftOut): string {
  return `${scenarioShape(leftOut.scenario)}: ${reasonText(leftOut.reason)}`;
}

/**
 * The lines under an audit's first line that say what it pinned and which known counterexamples
 * it left out; none for an audit without pins.
 */
export function pinLines(run: RunStart): string[] {
  const pinned = pinsText(run.pinned ?? {});
  return [
    ...(pinned ? [`pinned in every scenario: ${pinned}`] : []),
    ...(run.regressionsLeftOut ?? []).map(
      (l) => `known counterexample left out: ${leftOutText(l)}`,
    ),
  ];
}

/**
 * An audit's pins in its JSON document: `pinned` (the fields held, by name; `{}` for none) and
 * `regressionsLeftOut` (`[{scenario, reason, message}]`: the known counterexample without the
 * pins, why the pins took away what it checks as data, and in words).
 */
export function pinsJson(run: RunStart) {
  return {
    pinned: run.pinned ?? {},
    regressionsLeftOut: (run.regressionsLeftOut ?? []).map((l) => ({
      scenario: l.scenario,
      reason: l.reason,
      message: leftOutText(l),
    })),
  };
}
