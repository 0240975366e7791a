import type {
  CheckJudgement,
  StepAnalysis,
  StepPart,
  WindowOutline,
} from "../../properties/outcome.js";
import { nth, plural, positionRange } from "../words.js";

/** A judged check read as steps and windows: what the detectors ask of it. */
export class RunReading {
  readonly k: number;
  readonly epochs: number;
  /** Steps that applied some weight, in order. */
  readonly applied: StepAnalysis[];

  constructor(readonly check: CheckJudgement) {
    this.k = check.scenario.accumulation;
    this.epochs = check.scenario.epochs;
    this.applied = check.steps.filter((s) => !s.skipped && s.parts.length > 0);
  }

  /** An epoch's windows (from the scenario). */
  windows(epoch: number): WindowOutline[] {
    return this.check.plan[epoch]?.windows ?? [];
  }

  /** The epoch's last window, when it holds samples and its loader produced it whole. */
  lastProducedWindow(epoch: number): WindowOutline | undefined {
    const windows = this.windows(epoch);
    const last = windows[windows.length - 1];
    return last && last.samples > 0 && last.unproduced === 0 ? last : undefined;
  }

  /** Micro-batch positions the loaders produced in an epoch. */
  produced(epoch: number): number {
    return this.check.plan[epoch]?.produced ?? 0;
  }

  /** Applied steps holding part of a window, in order. */
  holders(epoch: number, window: number): StepAnalysis[] {
    return this.applied.filter((s) =>
      s.parts.some((p) => p.epoch === epoch && p.window === window),
    );
  }

  /** The step's part of a window, if it holds one. */
  part(step: StepAnalysis, epoch: number, window: number): StepPart | undefined {
    return step.parts.find((p) => p.epoch === epoch && p.window === window);
  }

  /** The step's parts of one epoch. */
  partsOf(step: StepAnalysis, epoch: number): StepPart[] {
    return step.parts.filter((p) => p.epoch === epoch);
  }

  /** Distinct micro-batch positions of an epoch the step took samples from. */
  microBatchCount(step: StepAnalysis, epoch: number): number {
    return this.partsOf(step, epoch).reduce((n, p) => n + p.microBatchCount, 0);
  }

  /** The first and last position of an epoch the step took samples from ([-1, -1] for none). */
  span(step: StepAnalysis, epoch: number): [number, number] {
    const parts = this.partsOf(step, epoch).filter((p) => p.microBatches[0] >= 0);
    if (parts.length === 0) return [-1, -1];
    return [
      Math.min(...parts.map((p) => p.microBatches[0])),
      Math.max(...parts.map((p) => p.microBatches[1])),
    ];
  }

  /** Whether the step holds every sample of a window. */
  holdsWhole(step: StepAnalysis, epoch: number, window: WindowOutline): boolean {
    const part = this.part(step, epoch, window.index);
    return part !== undefined && part.samples === window.samples;
  }

  /** Whether the step holds exactly one window, whole, and nothing else: the step a window is due. */
  isOneWholeWindow(step: StepAnalysis): boolean {
    const [only, ...rest] = step.parts;
    return (
      only !== undefined &&
      rest.length === 0 &&
      only.window !== null &&
      only.samples === only.windowSamples
    );
  }
}

/** "step 4": a 0-based step as people count it. */
export function stepWord(step: number): string {
  return `step ${nth(step)}`;
}

/**
 * What a step took samples from: "step 4 (micro-batches 13–14 of epoch 1 and 1–4 of epoch 2)";
 * the bare step when its micro-batches are unknown.
 */
export function stepHolding(step: StepAnalysis): string {
  const byEpoch = new Map<number, [number, number]>();
  for (const p of step.parts) {
    if (p.microBatches[0] < 0) continue;
    const [a, b] = byEpoch.get(p.epoch) ?? p.microBatches;
    byEpoch.set(p.epoch, [Math.min(a, p.microBatches[0]), Math.max(b, p.microBatches[1])]);
  }
  const spans = [...byEpoch].sort((x, y) => x[0] - y[0]);
  if (spans.length === 0) return stepWord(step.step);
  const words = spans.map(([epoch, [a, b]], i) =>
    i === 0
      ? microBatchesOf([a, b], epoch)
      : `${a === b ? nth(a) : `${nth(a)}–${nth(b)}`} of epoch ${nth(epoch)}`,
  );
  return `${stepWord(step.step)} (${words.join(" and ")})`;
}

/** "micro-batches 13–14 of epoch 1": positions of an epoch, numbered from 1. */
export function microBatchesOf(range: readonly [number, number], epoch: number): string {
  return `${positionRange(range[0], range[1], "micro-batch", "micro-batches")} of epoch ${nth(epoch)}`;
}

/** "window 4 of epoch 1 (micro-batches 13–14, 14 samples)". */
export function windowWords(epoch: number, window: WindowOutline): string {
  const [first, last] = window.microBatches;
  return `window ${nth(window.index)} of epoch ${nth(epoch)} (${positionRange(first, last, "micro-batch", "micro-batches")}, ${plural(window.samples, "sample")})`;
}
