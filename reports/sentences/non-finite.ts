import type { NonFiniteFinding, WeightingResult } from "../../properties/outcome.js";
import { stepName } from "../words.js";

/** The non-finite findings of a weighting result (properties/non-finite.ts), in step order. */
export function nonFiniteFindings(result: WeightingResult): NonFiniteFinding[] {
  return result.findings.filter((f): f is NonFiniteFinding => f.kind === "non-finite");
}

/** One non-finite step: "step 2 (epoch 1) applied a non-finite body gradient (entry 2: NaN)". */
export function nonFiniteStep(f: NonFiniteFinding): string {
  return `${stepName(f.step, f.epoch)} applied a non-finite ${f.part} (entry ${f.entry}: ${f.value})`;
}

/**
 * The first non-finite step in a sentence, and how many steps were, or null when none was: "step 2
 * (epoch 1) applied a non-finite body gradient (entry 2: NaN); expected finite numbers in every
 * applied step (3 steps non-finite)". Once a step applies NaN, what the others weigh says nothing.
 */
export function nonFiniteMessage(result: WeightingResult): string | null {
  const findings = nonFiniteFindings(result);
  const [first] = findings;
  if (!first) return null;
  const more = findings.length > 1 ? ` (${findings.length} steps non-finite)` : "";
  return `${nonFiniteStep(first)}; expected finite numbers in every applied step${more}`;
}
