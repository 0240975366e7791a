import type {
  AveragingResult,
  OptimizerStateResult,
  ScheduleResult,
} from "../../properties/outcome.js";
import type { Scenario } from "../../trainers/contract/scenario.js";
import { formatNumber, plural, stepName } from "../words.js";

type LearningRateOff = Extract<ScheduleResult["findings"][number], { kind: "learning-rate" }>;

/** Where the schedule stood for a step's rate, against where it should have stood. */
function offBy(f: LearningRateOff): string {
  if (f.scheduleStep === null) return "no step of the schedule has that rate";
  const gap = f.scheduleStep - f.appliedStep;
  return `the schedule's rate at step ${f.scheduleStep}, ${Math.abs(gap)} ${gap > 0 ? "ahead" : "behind"}`;
}

/** Schedule in one line: every applied step's learning rate on the schedule, or the first that is not. */
export function scheduleMessage(result: ScheduleResult, scenario: Scenario): string {
  const what = `${scenario.schedule} schedule${scenario.warmupSteps > 0 ? ` with ${plural(scenario.warmupSteps, "warm-up step")}` : ""} over ${plural(result.length, "applied step")}`;
  if (result.ok)
    return `every applied step used the ${what} at its own step (learning rates within ${formatNumber(result.tolerance)} relative)`;
  const parts: string[] = [];
  const off = result.findings.filter((f): f is LearningRateOff => f.kind === "learning-rate");
  const first = off[0];
  if (first) {
    const rank = first.rank > 0 ? ` on rank ${first.rank}` : "";
    const more = off.length > 1 ? ` (${plural(off.length, "step")} off in all)` : "";
    parts.push(
      `${stepName(first.step, first.epoch)}${rank} (applied step s = ${first.appliedStep}) used learning rate ${formatNumber(first.used ?? Number.NaN)} where the ${what} gives ${formatNumber(first.expected)}: ${offBy(first)}${more}`,
    );
  }
  for (const f of result.findings)
    if (f.kind === "learning-rate-unknown")
      parts.push(
        `the learning rate of ${plural(f.steps, "applied step")}${f.rank > 0 ? ` on rank ${f.rank}` : ""} is unknown (the trace records none, and no plain-SGD update shows it)`,
      );
  return parts.join("; ");
}

type AverageOff = Extract<AveragingResult["findings"][number], { kind: "average-updates" }>;

/** Averaging in one line: one update per applied step and none per skipped one, or the first step that differs. */
export function averagingMessage(result: AveragingResult): string {
  const decay = formatNumber(result.decay ?? Number.NaN);
  if (result.ok) {
    const skipped = result.steps.filter((s) => s.skipped).length;
    return `the average (decay ${decay}) took one update per applied step${skipped > 0 ? ` and none on ${plural(skipped, "skipped step")}` : ""}`;
  }
  const parts: string[] = [];
  const off = result.findings.filter((f): f is AverageOff => f.kind === "average-updates");
  const first = off[0];
  if (first) {
    const counted =
      first.updates === null
        ? "no whole number of updates explains it"
        : `it took ${plural(first.updates, "update")}`;
    const more = off.length > 1 ? ` (${plural(off.length, "step")} off in all)` : "";
    parts.push(
      `after ${first.skipped ? "skipped " : ""}${stepName(first.step, first.epoch)}${first.rank > 0 ? ` on rank ${first.rank}` : ""} the average (decay ${decay}) is off the recursion by ${formatNumber(first.relError)} of its move: ${counted} where ${first.expectedUpdates} ${first.expectedUpdates === 1 ? "was" : "were"} due${more}`,
    );
  }
  for (const f of result.findings)
    if (f.kind === "average-unknown")
      parts.push(
        `${plural(f.steps, "step call")}${f.rank > 0 ? ` on rank ${f.rank}` : ""} recorded no average (the trainer keeps none the recorder watches: ctx.make_ema() or ctx.watch_average())`,
      );
  return parts.join("; ");
}

/** Optimizer state in one line: its step count equals the applied steps, or the first call where it does not. */
export function optimizerStateMessage(result: OptimizerStateResult): string {
  if (result.ok)
    return result.counted === null
      ? `no optimizer step count to check (the optimizer keeps none); ${plural(result.appliedSteps, "applied step")}`
      : `the optimizer counted ${plural(result.counted, "step")}, one per applied step, none on a skipped one`;
  const parts: string[] = [];
  const off = result.findings.filter(
    (f): f is Extract<typeof f, { kind: "step-count" }> => f.kind === "step-count",
  );
  const first = off[0];
  if (first)
    parts.push(
      `after ${first.skipped ? "skipped " : ""}${stepName(first.step, first.epoch)}${first.rank > 0 ? ` on rank ${first.rank}` : ""} the optimizer had counted ${first.counted} steps where ${first.expected} ${first.expected === 1 ? "was" : "were"} applied${off.length > 1 ? ` (${plural(off.length, "call")} off in all)` : ""}`,
    );
  for (const f of result.findings)
    if (f.kind === "count-unknown")
      parts.push(
        `the optimizer's step count is unknown for ${plural(f.steps, "step call")}${f.rank > 0 ? ` on rank ${f.rank}` : ""} (the trace records none)`,
      );
  return parts.join("; ");
}
