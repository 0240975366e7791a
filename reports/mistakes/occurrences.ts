import { findingsOf, ranksWord } from "../sentences/coverage.js";
import { formatNumber, formatSampleSet, nth, plural } from "../words.js";
import type { Evidence, Mistake } from "./catalogue.js";
import { type RunReading, stepWord } from "./reading.js";

/** "the 3 samples of epoch 1 (96–98) were", "sample 0 of epoch 1 was". */
function samplesWere(count: number, epoch: number, ids: string): string {
  return count === 1
    ? `sample ${ids} of epoch ${nth(epoch)} was`
    : `the ${plural(count, "sample")} of epoch ${nth(epoch)} (${ids}) were`;
}

/** A step the fp16 scaler skipped held samples that no later step applied: the window was not redone. */
export function skippedStepLost(r: RunReading): Mistake | null {
  const lost = findingsOf(r.check.properties.coverage, "lost").filter(
    (f) => f.skippedStep !== null,
  );
  if (lost.length === 0) return null;
  const evidence: Evidence[] = lost.map((f) => {
    const step = f.skippedStep as number;
    const scale = r.check.steps[step]?.lossScale;
    return {
      step,
      epoch: f.epoch,
      shows: `${stepWord(step)} was skipped${scale ? ` (loss scale ${formatNumber(scale)})` : ""}, and ${samplesWere(f.samples.count, f.epoch, formatSampleSet(f.samples, 4))} fed before it but never applied`,
    };
  });
  return {
    id: "skipped-step-lost",
    evidence,
    explains: { lost: lost.map((f) => [f.epoch, f.samples.count]), stepCount: true },
  };
}

/** Samples fed on two ranks in one epoch: a sampler padded a shard with them. */
export function samplerPadding(r: RunReading): Mistake | null {
  const padded = findingsOf(r.check.properties.coverage, "duplicated").filter(
    (f) => f.likelyCause === "sampler-padding",
  );
  if (padded.length === 0) return null;
  return {
    id: "sampler-padding",
    evidence: padded.map((f) => ({
      epoch: f.epoch,
      shows: `${samplesWere(f.samples.count, f.epoch, formatSampleSet(f.samples, 4))} fed on ${ranksWord(f.seenOnRanks)}: a shard padded with repeated samples`,
    })),
    explains: {
      duplicated: padded.map((f) => [f.epoch, f.samples.count]),
      steps: padded.flatMap((f) => f.steps),
    },
  };
}

/** Samples applied by more than one step (or fed twice on one rank). */
export function appliedTwice(r: RunReading): Mistake | null {
  const twice = findingsOf(r.check.properties.coverage, "duplicated").filter(
    (f) => f.likelyCause !== "sampler-padding",
  );
  if (twice.length === 0) return null;
  return {
    id: "applied-twice",
    evidence: twice.map((f) => ({
      epoch: f.epoch,
      ...(f.steps[1] === undefined ? {} : { step: f.steps[1] }),
      shows:
        f.steps.length > 1
          ? `${samplesWere(f.samples.count, f.epoch, formatSampleSet(f.samples, 4))} applied by ${f.steps.map(stepWord).join(" and ")}`
          : `${samplesWere(f.samples.count, f.epoch, formatSampleSet(f.samples, 4))} fed through ${plural(f.seenOnRanks.length, "micro-batch", "micro-batches")}`,
    })),
    explains: {
      duplicated: twice.map((f) => [f.epoch, f.samples.count]),
      steps: twice.flatMap((f) => f.steps.slice(1)),
    },
  };
}

/** Ranks that applied different gradients at the same step, or took another number of steps. */
export function replicasDrift(r: RunReading): Mistake | null {
  const { replicas } = r.check.properties;
  if (replicas.ok) return null;
  return {
    id: "replicas-drift",
    evidence: replicas.findings.map((f) =>
      f.kind === "step-count"
        ? { shows: `rank ${f.rank} took ${plural(f.steps, "step")}, rank 0 ${f.expected}` }
        : {
            step: f.step,
            epoch: f.epoch,
            shows: `at ${stepWord(f.step)} rank ${f.rank}'s ${f.part === "body" ? "body gradient" : "fingerprint weights"} differ from rank 0's by ${formatNumber(f.relError)} relative`,
          },
    ),
    explains: { replicas: true },
  };
}
