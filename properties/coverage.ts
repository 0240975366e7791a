import type { Expectation } from "../reference/expectation.js";
import type { Trace } from "../trainers/contract/trace.js";
import type { AppliedWeights } from "./applied-weights.js";
import type { CoverageResult, EpochCoverage, OccurrenceStatus } from "./result.js";
import { formatSampleRanges, samplesWord } from "./sample-ranges.js";

/** Most occurrences a coverage list keeps; the counts are never capped. */
export const LIST_CAP = 200;

/** Coverage with the status of every occurrence, for reports. */
export interface CoverageCheck {
  result: CoverageResult;
  status: OccurrenceStatus[][];
}

/** The step call (applied or skipped) that followed the forward pass of each occurrence. */
function nextStepAfterForward(trace: Trace): Map<string, number> {
  const next = new Map<string, number>();
  for (const mb of trace.microBatches ?? [])
    for (const s of mb.samples) next.set(`${mb.epoch}:${s}`, mb.stepsBefore);
  return next;
}

function describeEpoch(
  e: EpochCoverage,
  row: OccurrenceStatus[],
  leaked: CoverageResult["leaked"],
): string {
  const ranges = (status: OccurrenceStatus) =>
    formatSampleRanges(row.flatMap((s, sample) => (s === status ? [sample] : [])));
  const parts: string[] = [];
  if (e.leaked > 0) {
    const into = [
      ...new Set(leaked.filter((o) => o.epoch === e.epoch).map((o) => o.stepEpoch + 1)),
    ];
    parts.push(
      `${samplesWord(e.leaked)} leaked into epoch ${into.join(", ")} (${ranges("leaked")})`,
    );
  }
  if (e.lost > 0) parts.push(`${samplesWord(e.lost)} never applied (${ranges("lost")})`);
  if (e.duplicated > 0)
    parts.push(`${samplesWord(e.duplicated)} applied more than once (${ranges("duplicated")})`);
  return `epoch ${e.epoch + 1}: ${e.applied} of ${e.expected} applied in their epoch; ${parts.join("; ")}`;
}

/**
 * Coverage: in every epoch every sample contributes to exactly one applied optimizer step of
 * that epoch. Lost, leaked (applied by a later epoch's step), duplicated and dropped-by-drop_last
 * occurrences are told apart.
 */
export function checkCoverage(
  trace: Trace,
  expectation: Expectation,
  applied: AppliedWeights,
): CoverageCheck {
  const { datasetSize, epochs } = trace.scenario;
  const nextStep = nextStepAfterForward(trace);
  const lists: Omit<CoverageResult, "ok" | "message" | "epochs"> = {
    lost: [],
    leaked: [],
    duplicated: [],
    dropped: [],
  };
  const push = <T>(list: T[], item: T) => list.length < LIST_CAP && list.push(item);
  const status: OccurrenceStatus[][] = [];
  const perEpoch: EpochCoverage[] = [];
  for (let epoch = 0; epoch < epochs; epoch++) {
    const dropped = new Set(expectation.plans[epoch]?.dropped ?? []);
    const row: OccurrenceStatus[] = [];
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
      const entries = applied.byOccurrence[epoch]?.[sample] ?? [];
      const first = entries[0];
      let s: OccurrenceStatus;
      if (entries.length === 0 && dropped.has(sample)) {
        s = "dropped";
        push(lists.dropped, { epoch, sample });
      } else if (!first) {
        s = "lost";
        const step = nextStep.get(`${epoch}:${sample}`);
        const inSkippedStep = step !== undefined && trace.steps[step]?.skipped ? step : null;
        push(lists.lost, { epoch, sample, inSkippedStep });
      } else if (entries.length > 1) {
        s = "duplicated";
        push(lists.duplicated, { epoch, sample, steps: entries.map((e) => e.step) });
      } else if (trace.steps[first.step]?.epoch !== epoch) {
        s = "leaked";
        push(lists.leaked, {
          epoch,
          sample,
          step: first.step,
          stepEpoch: trace.steps[first.step]?.epoch ?? -1,
        });
      } else {
        s = "ok";
      }
      row.push(s);
      counts[s === "ok" ? "applied" : s]++;
    }
    status.push(row);
    perEpoch.push(counts);
  }
  const failing = perEpoch.filter((e) => e.lost + e.leaked + e.duplicated > 0);
  const ok = failing.length === 0;
  const droppedTotal = perEpoch.reduce((n, e) => n + e.dropped, 0);
  const droppedNote =
    droppedTotal > 0 ? `; ${samplesWord(droppedTotal)} dropped by drop_last over the run` : "";
  const message = ok
    ? `every sample applied exactly once in ${epochs === 1 ? "the epoch" : `each of ${epochs} epochs`}${droppedNote}`
    : failing.map((e) => describeEpoch(e, status[e.epoch] ?? [], lists.leaked)).join(" | ") +
      droppedNote;
  return { result: { ok, message, epochs: perEpoch, ...lists }, status };
}
