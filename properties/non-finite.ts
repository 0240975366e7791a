import type { Trace } from "../trainers/contract/trace.js";
import type { CheckErrorCause } from "./outcome.js";

type NonFinite = Extract<CheckErrorCause, { kind: "non-finite" }>;

/**
 * The first applied step that carries a non-finite number (a weight, a body gradient or a
 * parameter); null when every applied number is finite. A trainer that applies NaN or infinity
 * has broken numerics, whatever its accumulation does.
 */
export function findNonFiniteStep(trace: Trace): NonFinite | null {
  for (const [index, step] of trace.steps.entries()) {
    if (step.skipped) continue;
    const parts: Array<[NonFinite["part"], readonly number[]]> = [
      ["fingerprint weight", step.fingerprint.weights],
      ["body gradient", step.body?.gradient ?? []],
      ["parameter before the step", step.body?.parametersBefore ?? []],
    ];
    for (const [part, values] of parts) {
      const entry = values.findIndex((v) => !Number.isFinite(v));
      if (entry >= 0)
        return {
          kind: "non-finite",
          step: index,
          epoch: step.epoch,
          part,
          entry,
          value: values[entry] ?? Number.NaN,
        };
    }
  }
  return null;
}
