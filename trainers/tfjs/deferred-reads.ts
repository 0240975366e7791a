import type { Tensor } from "@tensorflow/tfjs-core";
import type { OutsideChange, Step } from "../contract/trace.js";
import {
  type BeforeAfter,
  disposePair,
  fingerprintEntries,
  nonzeroChanges,
  outsideEntry,
  readDifference,
} from "./update-record.js";

/** An applied step whose tensors are read when the run finishes, with their copies. */
export interface DeferredStep {
  index: number;
  /** null when the step's fingerprint gradient came sparse and was recorded at once. */
  fingerprintGradient: Tensor | null;
  body: { parametersBefore: Tensor; gradient: Tensor } | null;
  /** The update's dense tensors (phi's null when it came sparse and was recorded at once). */
  update: { fingerprint: BeforeAfter<Tensor> | null; body: BeforeAfter<Tensor> | null } | null;
}

/** A change outside the steps whose tensors are read when the run finishes. */
export interface DeferredOutside {
  index: number;
  fingerprintDense: BeforeAfter<Tensor> | null;
  body: BeforeAfter<Tensor> | null;
}

/**
 * The tensors a recorder on a backend without synchronous reads (webgpu) keeps, copied, until the
 * run finishes: each applied step's and each change outside the steps', with where their entries
 * sit in the trace.
 */
export class DeferredReads {
  readonly steps: DeferredStep[] = [];
  readonly outside: DeferredOutside[] = [];

  constructor(private readonly datasetSize: number) {}

  /** Reads every deferred tensor into the trace's steps and changes outside them, then frees them. */
  async readInto(steps: Step[], outsideSteps: OutsideChange[]): Promise<void> {
    try {
      for (const pending of this.steps) {
        const step = steps[pending.index] as Step;
        if (pending.fingerprintGradient !== null) {
          const fingerprint = await pending.fingerprintGradient.data();
          const change = pending.update?.fingerprint
            ? await readDifference(pending.update.fingerprint)
            : null;
          const read = fingerprintEntries(null, fingerprint, this.datasetSize, change);
          step.fingerprint = read.fingerprint;
          if (step.update) step.update.fingerprint = read.changes;
        }
        if (pending.body !== null)
          step.body = {
            parametersBefore: Array.from(await pending.body.parametersBefore.data()),
            gradient: Array.from(await pending.body.gradient.data()),
          };
        if (step.update && pending.update?.body)
          step.update.body = Array.from(await readDifference(pending.update.body));
      }
      for (const pending of this.outside) {
        const entry = outsideSteps[pending.index] as OutsideChange;
        const dense = pending.fingerprintDense
          ? nonzeroChanges(await readDifference(pending.fingerprintDense))
          : null;
        const body = pending.body ? await readDifference(pending.body) : null;
        const read = outsideEntry(
          entry.stepsBefore,
          dense ?? {
            indices: entry.fingerprint.samples.map(
              (sample, k) => (entry.fingerprint.epochs[k] ?? 0) * this.datasetSize + sample,
            ),
            changes: entry.fingerprint.changes,
          },
          body,
          this.datasetSize,
        );
        outsideSteps[pending.index] = read;
      }
    } finally {
      this.dispose();
    }
  }

  /** Frees the copies not read yet (a run that failed before finish). */
  dispose(): void {
    for (const pending of this.steps.splice(0)) {
      pending.fingerprintGradient?.dispose();
      pending.body?.parametersBefore.dispose();
      pending.body?.gradient.dispose();
      disposePair(pending.update?.fingerprint);
      disposePair(pending.update?.body);
    }
    for (const pending of this.outside.splice(0)) {
      disposePair(pending.fingerprintDense);
      disposePair(pending.body);
    }
  }
}
