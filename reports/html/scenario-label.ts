import type { Scenario } from "../../trainers/contract/scenario.js";
import { plural } from "./format.js";

/**
 * A scenario in a few words, as the mission names them: "N 110 · B 8 · K 4 · 2 epochs", with
 * drop_last, shuffle, precision and body model added only where they differ from the defaults.
 */
export function scenarioLabel(s: Scenario): string {
  return [
    `N ${s.datasetSize}`,
    `B ${s.batchSize}`,
    `K ${s.accumulation}`,
    plural(s.epochs, "epoch"),
    s.dropLast ? "drop_last" : "",
    s.shuffle === false ? "" : `shuffle ${s.shuffle}`,
    s.precision === "fp32" ? "" : s.precision,
    s.model === "fingerprint" ? "" : `${s.model} body`,
  ]
    .filter(Boolean)
    .join(" · ");
}
