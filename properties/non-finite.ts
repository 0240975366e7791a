import type { Trace } from "../trainers/contract/trace.js";
import type { NonFiniteFinding, WeightingResult } from "./outcome.js";

/**
 * Every applied step that carries a non-finite number (a weight, a body gradient or a parameter),
 * with the first such number of each; none when every applied number is finite. A step the trainer
 * skipped (fp16 overflow) applied nothing, so its numbers do not count.
 */
export function findNonFiniteSteps(trace: Trace): NonFiniteFinding[] {
  const findings: NonFiniteFinding[] = [];
  for (const [index, step] of trace.steps.entries()) {
    if (step.skipped) continue;
    const parts: Array<[NonFiniteFinding["part"], readonly number[]]> = [
      ["fingerprint weight", step.fingerprint.weights],
      ["body gradient", step.body?.gradient ?? []],
      ["parameter before the step", step.body?.parametersBefore ?? []],
    ];
    for (const [part, values] of parts) {
      const entry = values.findIndex((v) => !Number.isFinite(v));
      if (entry < 0) continue;
      findings.push({
        kind: "non-finite",
        step: index,
        epoch: step.epoch,
        part,
        entry,
        value: values[entry] ?? Number.NaN,
      });
      break;
    }
  }
  return findings;
}

/**
 * The weighting result with the trace's non-finite steps as its first findings: a trainer that
 * applies NaN or an infinity fails weighting at that step, whatever else its accumulation does.
 */
export function withNonFiniteFindings(result: WeightingResult, trace: Trace): WeightingResult {
  const findings = findNonFiniteSteps(trace);
  if (findings.length === 0) return result;
  return { ...result, ok: false, findings: [...findings, ...result.findings] };
}
