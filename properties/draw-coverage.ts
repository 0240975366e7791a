import { type DrawPlan, drawSites } from "../reference/draw-plan.js";
import type { Trace } from "../trainers/contract/trace.js";
import type { CoverageCheck } from "./coverage.js";
import type { DrawAttribution } from "./draw-attribution.js";
import type { CoverageFinding, EpochCoverage, OccurrenceStatus } from "./outcome.js";
import { sampleSet } from "./sample-set.js";

type LostDraws = Extract<CoverageFinding, { kind: "lost-draws" }>;
type DuplicatedDraws = Extract<CoverageFinding, { kind: "duplicated-draws" }>;

/**
 * Coverage of a run that draws with replacement: every draw of the scenario's windows applied by
 * exactly one applied step. A window's draws of a sample are lost when no step applied them (a
 * window never stepped, or whose step was skipped and not redone) and duplicated when two steps
 * did (a gradient not cleared after its step leaks into the next). One row of counts (epoch 0)
 * counts draws; a sample's status is the worst of its draws'. Draws beyond the scenario's
 * windows are windowing's to report.
 */
export function checkDrawCoverage(
  trace: Trace,
  plan: DrawPlan,
  attribution: DrawAttribution,
): CoverageCheck {
  const n = trace.scenario.datasetSize;
  const row: OccurrenceStatus[] = new Array(n).fill("ok");
  const counts: EpochCoverage = {
    epoch: 0,
    expected: 0,
    applied: 0,
    lost: 0,
    leaked: 0,
    duplicated: 0,
    dropped: 0,
  };
  const lost = new Map<string, { head: Omit<LostDraws, "samples">; ids: number[] }>();
  const duplicated = new Map<string, { head: Omit<DuplicatedDraws, "samples">; ids: number[] }>();
  for (const window of plan.windows) {
    if (window.extra) continue;
    const held = attribution.holders[window.index];
    for (const sample of window.samples) {
      const draws = window.drawCount.get(sample) ?? 0;
      counts.expected += draws;
      // A sample without loss tokens is due weight 0: no step needs to apply it.
      if ((plan.units[sample] ?? 0) === 0) {
        counts.applied += draws;
        continue;
      }
      const steps = held?.get(sample) ?? [];
      if (steps.length === 1) {
        counts.applied += draws;
        continue;
      }
      const base = { epoch: 0, window: window.index, microBatches: window.microBatches };
      if (steps.length === 0) {
        counts.lost += draws;
        if (sample >= 0 && sample < n) row[sample] = "lost";
        const call = drawSites(plan, sample, window.index)[0]?.stepsBefore;
        const skippedStep = call !== undefined && trace.steps[call]?.skipped ? call : null;
        const key = `${window.index}:${skippedStep}`;
        const group = lost.get(key) ?? {
          head: { kind: "lost-draws" as const, ...base, draws: 0, skippedStep },
          ids: [],
        };
        group.head.draws += draws;
        group.ids.push(sample);
        lost.set(key, group);
      } else {
        counts.duplicated += draws;
        if (sample >= 0 && sample < n && row[sample] === "ok") row[sample] = "duplicated";
        const key = `${window.index}:${steps.join(",")}`;
        const group = duplicated.get(key) ?? {
          head: { kind: "duplicated-draws" as const, ...base, draws: 0, steps },
          ids: [],
        };
        group.head.draws += draws;
        group.ids.push(sample);
        duplicated.set(key, group);
      }
    }
  }
  const findings: CoverageFinding[] = [
    ...[...lost.values()].map(({ head, ids }) => ({ ...head, samples: sampleSet(ids) })),
    ...[...duplicated.values()].map(({ head, ids }) => ({ ...head, samples: sampleSet(ids) })),
  ].sort(
    (a, b) => a.window - b.window || (a.kind === b.kind ? 0 : a.kind === "lost-draws" ? -1 : 1),
  );
  return {
    result: { ok: findings.length === 0, epochs: [counts], findings },
    status: [row],
  };
}
