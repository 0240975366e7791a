import { FINGERPRINT_COEFFICIENT, occurrenceIndex } from "../trainers/contract/probe.js";
import type { Trace } from "../trainers/contract/trace.js";
import type { AppliedEntry } from "./outcome.js";

const NONE: readonly AppliedEntry[] = Object.freeze([]);

/** The applied fingerprint weights of a trace, by step and by occurrence. */
export interface AppliedWeights {
  byStep: AppliedEntry[][];
  /**
   * The applied steps that gave occurrence (epoch, sample) a nonzero weight, in step order; empty
   * for none and for an occurrence outside the scenario.
   */
  occurrence(epoch: number, sample: number): readonly AppliedEntry[];
  /** The first of {@link occurrence}'s entries, without making a list of them. */
  firstOccurrence(epoch: number, sample: number): AppliedEntry | undefined;
  /** How many entries {@link occurrence} holds, without making a list of them. */
  occurrenceCount(epoch: number, sample: number): number;
}

/**
 * Occurrences by flat index (epoch x N + sample): the first entry of each in a flat array, the
 * second and later ones (a duplicated occurrence) in a map, so that the common case of one entry
 * per occurrence allocates no list per occurrence.
 */
class EntriesByOccurrence {
  private readonly first: Array<AppliedEntry | undefined>;
  private readonly all = new Map<number, AppliedEntry[]>();

  constructor(
    private readonly epochs: number,
    private readonly datasetSize: number,
  ) {
    this.first = new Array<AppliedEntry | undefined>(epochs * datasetSize);
  }

  private flat(epoch: number, sample: number): number {
    return occurrenceIndex(epoch, sample, this.epochs, this.datasetSize);
  }

  add(entry: AppliedEntry): void {
    const at = this.flat(entry.epoch, entry.sample);
    if (at < 0) return;
    const first = this.first[at];
    if (first === undefined) this.first[at] = entry;
    else {
      const all = this.all.get(at);
      if (all) all.push(entry);
      else this.all.set(at, [first, entry]);
    }
  }

  firstEntry(epoch: number, sample: number): AppliedEntry | undefined {
    const at = this.flat(epoch, sample);
    return at < 0 ? undefined : this.first[at];
  }

  count(epoch: number, sample: number): number {
    const at = this.flat(epoch, sample);
    if (at < 0 || this.first[at] === undefined) return 0;
    return this.all.get(at)?.length ?? 1;
  }

  get(epoch: number, sample: number): readonly AppliedEntry[] {
    const at = this.flat(epoch, sample);
    if (at < 0) return NONE;
    const first = this.first[at];
    if (first === undefined) return NONE;
    return this.all.get(at) ?? [first];
  }
}

/** Reads the applied (non-skipped) fingerprint weights out of a trace. */
export function readAppliedWeights(trace: Trace): AppliedWeights {
  const { datasetSize, epochs } = trace.scenario;
  const byOccurrence = new EntriesByOccurrence(epochs, datasetSize);
  const byStep = trace.steps.map((step, index) => {
    const entries: AppliedEntry[] = [];
    if (step.skipped) return entries;
    const { samples, epochs: stepEpochs, weights } = step.fingerprint;
    for (let k = 0; k < samples.length; k++) {
      const weight = (weights[k] ?? 0) / FINGERPRINT_COEFFICIENT;
      if (weight === 0) continue;
      const entry = {
        step: index,
        epoch: stepEpochs[k] ?? 0,
        sample: samples[k] as number,
        weight,
      };
      entries.push(entry);
      byOccurrence.add(entry);
    }
    return entries;
  });
  return {
    byStep,
    occurrence: (epoch, sample) => byOccurrence.get(epoch, sample),
    firstOccurrence: (epoch, sample) => byOccurrence.firstEntry(epoch, sample),
    occurrenceCount: (epoch, sample) => byOccurrence.count(epoch, sample),
  };
}
