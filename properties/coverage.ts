import type { EpochPlan } from "../reference/epoch-plan.js";
import type { Expectation } from "../reference/expectation.js";
import type { Trace } from "../trainers/contract/trace.js";
import type { AppliedWeights } from "./applied-weights.js";
import type {
  CoverageFinding,
  CoverageResult,
  EpochCoverage,
  OccurrenceStatus,
} from "./outcome.js";
import { drawnWithReplacement } from "./replacement-signs.js";
import { sampleSet } from "./sample-set.js";

/** Coverage with the status of every occurrence, for reports. */
export interface CoverageCheck {
  result: CoverageResult;
  status: OccurrenceStatus[][];
}

/** The step call (applied or skipped) that followed the forward pass of each occurrence, built on first use. */
function nextStepAfterForward(trace: Trace): (epoch: number, sample: number) => number | undefined {
  let next: Map<string, number> | undefined;
  return (epoch, sample) => {
    if (!next) {
      next = new Map();
      for (const mb of trace.microBatches ?? [])
        for (const s of mb.samples) next.set(`${mb.epoch}:${s}`, mb.stepsBefore);
    }
    return next.get(`${epoch}:${sample}`);
  };
}

/** A finding without its samples, which are collected before the finding is made. */
type FindingHead = {
  [K in CoverageFinding["kind"]]: Omit<Extract<CoverageFinding, { kind: K }>, "samples">;
}[CoverageFinding["kind"]];

/** The order findings of one epoch are listed in. */
const KIND_ORDER: Record<CoverageFinding["kind"], number> = {
  "drawn-with-replacement": -1,
  leaked: 0,
  lost: 1,
  duplicated: 2,
  dropped: 3,
  "lost-draws": 4,
  "duplicated-draws": 5,
};

/** Collects one epoch's affected samples into findings, one per kind and step. */
class EpochFindings {
  private readonly groups = new Map<string, { head: FindingHead; ids: number[] }>();

  add(key: string, head: FindingHead, sample: number): void {
    const group = this.groups.get(key) ?? { head, ids: [] };
    group.ids.push(sample);
    this.groups.set(key, group);
  }

  findings(): CoverageFinding[] {
    return [...this.groups.values()]
      .map(({ head, ids }) => ({ ...head, samples: sampleSet(ids) }) as CoverageFinding)
      .sort((a, b) => KIND_ORDER[a.kind] - KIND_ORDER[b.kind]);
  }
}

/** The ranks of the forward passes of each sample in an epoch's plan (a redone window counted once). */
class RanksSeen {
  private readonly first: Int32Array;
  private readonly more = new Map<number, number[]>();

  constructor(plan: EpochPlan | undefined, datasetSize: number) {
    this.first = new Int32Array(datasetSize).fill(-1);
    plan?.byRank.forEach((mbs, rank) => {
      for (const mb of mbs)
        for (const s of mb) {
          if (s < 0 || s >= datasetSize) continue;
          if (this.first[s] === -1) this.first[s] = rank;
          else {
            const ranks = this.more.get(s);
            if (ranks) ranks.push(rank);
            else this.more.set(s, [this.first[s] ?? rank, rank]);
          }
        }
    });
  }

  /** The rank of every forward pass of the sample, in plan order. */
  get(sample: number): number[] {
    const first = this.first[sample] ?? -1;
    return this.more.get(sample) ?? (first === -1 ? [] : [first]);
  }

  /** True when more than one forward pass fed the sample. */
  repeated(sample: number): boolean {
    return this.more.has(sample);
  }
}

/**
 * Coverage: in every epoch every sample contributes to exactly one applied optimizer step of
 * that epoch, through one forward pass. Lost, leaked (applied by a later epoch's step),
 * duplicated (applied by several steps or fed through several micro-batches, as a padded shard
 * does) and dropped-by-drop_last occurrences are told apart. A step's epoch is the latest epoch of
 * the occurrences it applied (the trace's steps carry it: see step-epochs.ts), so an occurrence is
 * leaked exactly when its step also applied a later epoch's samples. A sample without loss tokens
 * (token weighting) is due weight 0: it is covered whether or not a loader produced it.
 */
export function checkCoverage(
  trace: Trace,
  expectation: Expectation,
  applied: AppliedWeights,
): CoverageCheck {
  const { datasetSize, epochs } = trace.scenario;
  const nextStep = nextStepAfterForward(trace);
  const status: OccurrenceStatus[][] = [];
  const perEpoch: EpochCoverage[] = [];
  const findings: CoverageFinding[] = [];
  for (let epoch = 0; epoch < epochs; epoch++) {
    const plan = expectation.plans[epoch];
    const dropped = new Set(plan?.dropped ?? []);
    const seen = new RanksSeen(plan, datasetSize);
    const row: OccurrenceStatus[] = [];
    const found = new EpochFindings();
    const counts: EpochCoverage = {
      epoch,
      expected: datasetSize - dropped.size,
      applied: 0,
      lost: 0,
      leaked: 0,
      duplicated: 0,
      dropped: 0,
    };
    for (let sample = 0; sample < datasetSize; sample++) {
      const first = applied.firstOccurrence(epoch, sample);
      const count = applied.occurrenceCount(epoch, sample);
      let s: OccurrenceStatus = "ok";
      if (count === 0 && dropped.has(sample)) {
        s = "dropped";
        found.add("dropped", { kind: "dropped", epoch }, sample);
      } else if (!first && expectation.units[sample] === 0) {
        // No loss tokens: it is due weight 0, so a loop that never feeds it loses nothing.
      } else if (!first) {
        s = "lost";
        const step = nextStep(epoch, sample);
        const skippedStep = step !== undefined && trace.steps[step]?.skipped ? step : null;
        const ranks = [...new Set(seen.get(sample))];
        const head = { kind: "lost" as const, epoch, skippedStep, ranks };
        found.add(`lost:${skippedStep}:${ranks.join(",")}`, head, sample);
      } else if (count > 1 || seen.repeated(sample)) {
        s = "duplicated";
        const steps = applied.occurrence(epoch, sample).map((e) => e.step);
        const seenOnRanks = seen.get(sample);
        const likelyCause = new Set(seenOnRanks).size > 1 ? ("sampler-padding" as const) : null;
        const head = { kind: "duplicated" as const, epoch, steps, seenOnRanks, likelyCause };
        found.add(`duplicated:${steps.join(",")}:${seenOnRanks.join(",")}`, head, sample);
      } else {
        // The step's epoch is the latest epoch among what it applied (see step-epochs.ts).
        const stepEpoch = trace.steps[first.step]?.epoch ?? -1;
        if (stepEpoch > epoch) {
          s = "leaked";
          const ranks = [...new Set(seen.get(sample))];
          const head = { kind: "leaked" as const, epoch, step: first.step, stepEpoch, ranks };
          found.add(`leaked:${first.step}:${ranks.join(",")}`, head, sample);
        }
      }
      row.push(s);
      if (s === "ok") counts.applied++;
      else counts[s]++;
    }
    status.push(row);
    perEpoch.push(counts);
    findings.push(...found.findings());
  }
  // A loop that draws with replacement loses and repeats samples in every epoch: say so first.
  findings.unshift(...drawnWithReplacement(trace, expectation));
  const ok = findings.every((f) => f.kind === "dropped");
  return { result: { ok, epochs: perEpoch, findings }, status };
}
