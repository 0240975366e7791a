import type { CoverageFinding, CoverageResult, EpochCoverage } from "../../properties/outcome.js";
import { mergeSampleSets, type SampleSet } from "../../properties/sample-set.js";
import type { Scenario } from "../../trainers/contract/scenario.js";
import { scenarioField } from "../../trainers/contract/scenario-fields.js";
import { formatSampleSet, nth, plural } from "../words.js";

/** The findings of one kind in one epoch. */
export function findingsOf<K extends CoverageFinding["kind"]>(
  result: CoverageResult,
  kind: K,
  epoch?: number,
): Array<Extract<CoverageFinding, { kind: K }>> {
  return result.findings.filter(
    (f): f is Extract<CoverageFinding, { kind: K }> =>
      f.kind === kind && (epoch === undefined || f.epoch === epoch),
  );
}

/** Every sample of one kind of finding in one epoch, as one set. */
export function samplesOf(
  result: CoverageResult,
  kind: CoverageFinding["kind"],
  epoch: number,
): SampleSet {
  return mergeSampleSets(findingsOf(result, kind, epoch).map((f) => f.samples));
}

/** Occurrences of one kind over every epoch. */
export function totalOf(
  result: CoverageResult,
  kind: Exclude<keyof EpochCoverage, "epoch">,
): number {
  return result.epochs.reduce((n, e) => n + e[kind], 0);
}

/** ", fed by ranks 0 and 1" for a data-parallel run; nothing for one process. */
function fedBy(scenario: Scenario, findings: ReadonlyArray<{ ranks: number[] }>): string {
  const ranks = findings.flatMap((f) => f.ranks);
  return scenario.worldSize > 1 && ranks.length > 0 ? `, fed by ${ranksWord(ranks)}` : "";
}

function epochMessage(result: CoverageResult, e: EpochCoverage, scenario: Scenario): string {
  const parts: string[] = [];
  if (e.leaked > 0) {
    const leaked = findingsOf(result, "leaked", e.epoch);
    const into = [...new Set(leaked.map((f) => nth(f.stepEpoch)))];
    parts.push(
      `${plural(e.leaked, "sample")} leaked into epoch ${into.join(", ")} (${formatSampleSet(samplesOf(result, "leaked", e.epoch), 4)}${fedBy(scenario, leaked)})`,
    );
  }
  if (e.lost > 0)
    parts.push(
      `${plural(e.lost, "sample")} never applied (${formatSampleSet(samplesOf(result, "lost", e.epoch), 4)}${fedBy(scenario, findingsOf(result, "lost", e.epoch))})`,
    );
  if (e.duplicated > 0) parts.push(...duplicatedParts(result, e.epoch));
  return `epoch ${nth(e.epoch)}: ${e.applied} of ${e.expected} applied in their epoch; ${parts.join("; ")}`;
}

/** Ranks as people list them: "ranks 0 and 1", "rank 2". */
export function ranksWord(ranks: readonly number[]): string {
  const distinct = [...new Set(ranks)].sort((a, b) => a - b);
  if (distinct.length === 1) return `rank ${distinct[0]}`;
  return `ranks ${distinct.slice(0, -1).join(", ")} and ${distinct[distinct.length - 1]}`;
}

/** One epoch's duplicated samples: those a padded shard repeated, and the others. */
function duplicatedParts(result: CoverageResult, epoch: number): string[] {
  const findings = findingsOf(result, "duplicated", epoch);
  const padded = findings.filter((f) => f.likelyCause === "sampler-padding");
  const other = findings.filter((f) => f.likelyCause !== "sampler-padding");
  const parts: string[] = [];
  if (padded.length > 0) {
    const set = mergeSampleSets(padded.map((f) => f.samples));
    parts.push(
      `${plural(set.count, "sample")} used twice (${formatSampleSet(set, 4)}), on ${ranksWord(padded.flatMap((f) => f.seenOnRanks))}: the sampler padded a shard with ${set.count === 1 ? "it" : "them"}`,
    );
  }
  if (other.length > 0) {
    const set = mergeSampleSets(other.map((f) => f.samples));
    parts.push(
      `${plural(set.count, "sample")} applied more than once (${formatSampleSet(set, 4)})`,
    );
  }
  return parts;
}

/**
 * An epoch-sampled run whose loop draws with replacement, plainly: "the loop draws samples with
 * replacement (sample 5 in micro-batches 2 and 7 of epoch 1; 38 samples never drawn): coverage
 * per epoch does not apply; audit it with --sampling replacement --steps 5".
 */
export function drawnWithReplacementSentence(
  f: Extract<CoverageFinding, { kind: "drawn-with-replacement" }>,
): string {
  const [a, b] = f.microBatches;
  const where =
    a === b
      ? `twice in micro-batch ${nth(a)} of epoch ${nth(f.epoch)}`
      : `in micro-batches ${nth(a)} and ${nth(b)} of epoch ${nth(f.epoch)}`;
  const others =
    f.samples.count > 1 ? `, ${plural(f.samples.count - 1, "other")} drawn twice or more` : "";
  const flags = `${scenarioField("sampling").flag} replacement ${scenarioField("steps").flag} ${Math.max(f.appliedSteps, 1)}`;
  return `the loop draws samples with replacement (sample ${f.sample} ${where}${others}; ${plural(f.neverDrawn, "sample")} never drawn): coverage per epoch does not apply; audit it with ${flags}`;
}

/**
 * Coverage in one line: "every sample applied exactly once in each of 2 epochs", or per failing
 * epoch what was applied, leaked, lost and duplicated, with the sample ids.
 */
export function coverageMessage(result: CoverageResult, scenario: Scenario): string {
  const drawn = findingsOf(result, "drawn-with-replacement")[0];
  if (drawn) return drawnWithReplacementSentence(drawn);
  const dropped = totalOf(result, "dropped");
  const droppedNote =
    dropped > 0 ? `; ${plural(dropped, "sample")} dropped by drop_last over the run` : "";
  if (result.ok) {
    const where =
      scenario.epochs === 1 ? "the epoch" : `each of ${plural(scenario.epochs, "epoch")}`;
    return `every sample applied exactly once in ${where}${droppedNote}`;
  }
  const failing = result.epochs.filter((e) => e.lost + e.leaked + e.duplicated > 0);
  return failing.map((e) => epochMessage(result, e, scenario)).join(" | ") + droppedNote;
}
