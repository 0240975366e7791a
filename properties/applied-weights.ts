import { FINGERPRINT_COEFFICIENT } from "../trainers/contract/probe.js";
import type { Trace } from "../trainers/contract/trace.js";
import type { AppliedEntry } from "./outcome.js";

/** The applied fingerprint weights of a trace, by step and by occurrence. */
export interface AppliedWeights {
  byStep: AppliedEntry[][];
  /** byOccurrence[e][i]: the applied steps that gave (e, i) a nonzero weight. */
  byOccurrence: AppliedEntry[][][];
}

/** Reads the applied (non-skipped) fingerprint weights out of a trace. */
export function readAppliedWeights(trace: Trace): AppliedWeights {
  const { datasetSize, epochs } = trace.scenario;
  const byOccurrence: AppliedEntry[][][] = Array.from({ length: epochs }, () =>
    Array.from({ length: datasetSize }, () => []),
  );
  const byStep = trace.steps.map((step, index) => {
    if (step.skipped) return [];
    const f = step.fingerprint;
    const entries: AppliedEntry[] = [];
    f.samples.forEach((sample, k) => {
      const weight = (f.weights[k] ?? 0) / FINGERPRINT_COEFFICIENT;
      if (weight === 0) return;
      const entry = { step: index, epoch: f.epochs[k] ?? 0, sample, weight };
      entries.push(entry);
      byOccurrence[entry.epoch]?.[sample]?.push(entry);
    });
    return entries;
  });
  return { byStep, byOccurrence };
}
