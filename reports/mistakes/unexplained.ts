import type { CoverageFinding } from "../../properties/outcome.js";
import { mergeSampleSets } from "../../properties/sample-set.js";
import { findingsOf } from "../sentences/coverage.js";
import { nonFiniteFindings, nonFiniteStep } from "../sentences/non-finite.js";
import { stepFindings } from "../sentences/weighting.js";
import { windowingFindings } from "../sentences/windowing.js";
import { formatNumber, formatSampleSet, formatWeight, nth, plural } from "../words.js";
import type { Evidence, Explains, Mistake } from "./catalogue.js";
import { microBatchesOf, type RunReading, stepHolding, stepWord } from "./reading.js";
import { unexplainedUpdates } from "./updates.js";

/** Sums claims of [epoch, count] by epoch. */
function countsByEpoch(
  claims: ReadonlyArray<Array<[number, number]> | undefined>,
): Map<number, number> {
  const counts = new Map<number, number>();
  for (const list of claims)
    for (const [epoch, count] of list ?? []) counts.set(epoch, (counts.get(epoch) ?? 0) + count);
  return counts;
}

/** One epoch's occurrences of a kind beyond what the named mistakes account for. */
function coverageResidue(
  r: RunReading,
  kind: "lost" | "leaked" | "duplicated",
  claimed: Map<number, number>,
): Evidence[] {
  const verb: Record<typeof kind, string> = {
    lost: "never applied",
    leaked: "applied by a step of a later epoch",
    duplicated: "applied or fed more than once",
  };
  return r.check.properties.coverage.epochs.flatMap((e) => {
    const left = e[kind] - (claimed.get(e.epoch) ?? 0);
    if (left <= 0) return [];
    const findings: CoverageFinding[] = findingsOf(r.check.properties.coverage, kind, e.epoch);
    const ids = formatSampleSet(mergeSampleSets(findings.map((f) => f.samples)), 4);
    return [
      {
        epoch: e.epoch,
        shows: `epoch ${nth(e.epoch)}: ${plural(e[kind], "sample")} ${verb[kind]} (${ids})`,
      },
    ];
  });
}

/**
 * What the trace shows that none of `named` accounts for: failing findings of every property,
 * each as evidence; null when the named mistakes account for all of them.
 */
export function unexplained(r: RunReading, named: readonly Mistake[]): Mistake | null {
  const claims: Explains[] = named.map((m) => m.explains);
  const steps = new Set(claims.flatMap((c) => c.steps ?? []));
  const windows = new Set(claims.flatMap((c) => (c.windows ?? []).map(([e, w]) => `${e}:${w}`)));
  const evidence: Evidence[] = [];
  const { coverage, weighting, windowing, replicas } = r.check.properties;
  const lostClaimed = countsByEpoch(claims.map((c) => c.lost));
  const allLostExplained = (epoch: number) =>
    (coverage.epochs[epoch]?.lost ?? 0) <= (lostClaimed.get(epoch) ?? 0);
  if (!coverage.ok) {
    evidence.push(...coverageResidue(r, "lost", lostClaimed));
    evidence.push(...coverageResidue(r, "leaked", countsByEpoch(claims.map((c) => c.leaked))));
    evidence.push(
      ...coverageResidue(r, "duplicated", countsByEpoch(claims.map((c) => c.duplicated))),
    );
  }
  // A step that applied NaN or an infinity is evidence of its own: what it weighed is no more.
  const nonFinite = nonFiniteFindings(weighting);
  for (const f of nonFinite)
    if (!steps.has(f.step))
      evidence.push({ step: f.step, epoch: f.epoch, shows: nonFiniteStep(f) });
  const nonFiniteSteps = new Set(nonFinite.map((f) => f.step));
  for (const f of stepFindings(weighting)) {
    if (steps.has(f.step) || nonFiniteSteps.has(f.step)) continue;
    const worst = f.groups.reduce(
      (a, g) => (g.relError > (a?.relError ?? -1) ? g : a),
      f.groups[0],
    );
    const got = worst
      ? `${plural(worst.samples.count, "sample")} of epoch ${nth(worst.epoch)} weight ${formatWeight(worst.weight)} where ${formatWeight(worst.expected)} was due`
      : "weights off";
    const step = r.check.steps[f.step];
    const why = step?.ownBatch
      ? `: it weighted its own ${plural(step.samples, "sample")} as one batch, and they are not one window`
      : ", and no common loss scaling or single factor gives its weights";
    evidence.push({
      step: f.step,
      epoch: f.epoch,
      ...(f.window ? { window: f.window.index } : {}),
      shows: `${step ? stepHolding(step) : stepWord(f.step)} gave ${got} (relative error ${formatNumber(f.relError)})${why}`,
    });
  }
  for (const f of weighting.findings) {
    if (f.kind !== "body-gradient" || steps.has(f.step) || nonFiniteSteps.has(f.step)) continue;
    // A step that is not one whole window cannot match its window's body gradient: windowing says why.
    const step = r.check.steps[f.step];
    if (step && !r.isOneWholeWindow(step)) continue;
    const factor = r.check.steps[f.step]?.bodyFactor ?? null;
    const scaled = factor !== null ? `; it is ${formatNumber(factor)} times the oracle's` : "";
    evidence.push({
      step: f.step,
      epoch: f.epoch,
      shows: `${stepWord(f.step)}'s body gradient is off the float64 oracle by ${formatNumber(f.relError)} (tolerance ${formatNumber(weighting.bodyTolerance)})${scaled}`,
    });
  }
  const unproducedClaimed = new Set(claims.flatMap((c) => c.unproduced ?? []));
  for (const f of windowingFindings(windowing, "unproduced-windows"))
    if (!unproducedClaimed.has(f.epoch))
      evidence.push({
        epoch: f.epoch,
        shows: `epoch ${nth(f.epoch)}: windows ${nth(f.windows[0])}–${nth(f.windows[1])} were never fed (the loader produced ${plural(f.producedMicroBatches, "micro-batch", "micro-batches")} of ${f.producedMicroBatches + f.microBatches})`,
      });
  for (const f of windowingFindings(windowing, "unmatched-window")) {
    if (windows.has(`${f.epoch}:${f.window}`)) continue;
    // A window no step applied any of is lost samples only: explained when its epoch's losses are.
    if (f.step === null && allLostExplained(f.epoch)) continue;
    const held =
      f.step === null
        ? "no applied step holds any of its samples"
        : `${stepWord(f.step)} holds ${f.sharedSamples} of its ${f.expectedSamples} samples among ${f.stepSamples}`;
    evidence.push({
      epoch: f.epoch,
      window: f.window,
      microBatches: f.microBatches,
      shows: `window ${nth(f.window)} of epoch ${nth(f.epoch)} (${microBatchesOf(f.microBatches, f.epoch)}) is not one step: ${held}`,
    });
  }
  const countExplained = claims.some((c) => c.stepCount);
  for (const f of windowingFindings(windowing, "step-count"))
    if (!countExplained && evidence.length === 0)
      evidence.push({
        shows: `${plural(f.applied, "applied step")} where the scenario has ${f.expected}`,
      });
  for (const f of windowingFindings(windowing, "irregular-micro-batch"))
    evidence.push({
      epoch: f.epoch,
      microBatches: [f.position, f.position],
      shows: `${microBatchesOf([f.position, f.position], f.epoch)}${r.check.scenario.worldSize > 1 ? ` on rank ${f.rank}` : ""} holds ${plural(f.size, "sample")}, where B = ${r.check.scenario.batchSize}`,
    });
  evidence.push(...unexplainedUpdates(r.check, named));
  if (!replicas.ok && !claims.some((c) => c.replicas))
    evidence.push({ shows: "the ranks disagree" });
  return evidence.length === 0 ? null : { id: "unexplained", evidence, explains: {} };
}
