import { fromWireFloat, type Trace, type WireFloat } from "../trainers/contract/trace.js";

/**
 * The first applied step that carries a non-finite number (a weight, a body gradient or a
 * parameter), described in one line; null when every applied number is finite. A trainer that
 * applies NaN or infinity has broken numerics, whatever its accumulation does.
 */
export function describeNonFiniteStep(trace: Trace): string | null {
  for (const [index, step] of trace.steps.entries()) {
    if (step.skipped) continue;
    const fields: Array<[string, readonly WireFloat[]]> = [
      ["fingerprint weight", step.fingerprint.weights],
      ["body gradient", step.body?.gradient ?? []],
      ["parameter before the step", step.body?.parametersBefore ?? []],
    ];
    for (const [field, values] of fields) {
      const k = values.findIndex((v) => !Number.isFinite(fromWireFloat(v)));
      if (k >= 0)
        return `step ${index + 1} (epoch ${step.epoch + 1}) applied a non-finite ${field} (entry ${k}: ${values[k]}); expected finite numbers in every applied step`;
    }
  }
  return null;
}
