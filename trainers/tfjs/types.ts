import type { Scenario } from "../contract/scenario.js";

/** Numeric precision of a scenario. */
export type Precision = Scenario["precision"];
