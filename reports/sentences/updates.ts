import type { UpdateFinding, WeightingResult } from "../../properties/outcome.js";
import type { Scenario } from "../../trainers/contract/scenario.js";
import { formatNumber, nth, plural, stepName } from "../words.js";

/** What the words of a finding depend on: ranks named above one, epochs only under epoch sampling. */
export type UpdateWording = Pick<Scenario, "worldSize" | "sampling">;

/** "step 4 (epoch 2)", or "step 4" in a run that draws with replacement (it has no epochs). */
function stepWords(step: number, epoch: number, wording: UpdateWording): string {
  return wording.sampling === "replacement" ? `step ${nth(step)}` : stepName(step, epoch);
}

/** The update findings of a weighting result (properties/updates.ts), in the order found. */
export function updateFindings(result: WeightingResult): UpdateFinding[] {
  return result.findings.filter(
    (f): f is UpdateFinding =>
      f.kind === "update-missing" || f.kind === "update-factor" || f.kind === "outside-step",
  );
}

/** The whole number c is, when it is one (within 1 %); else null. */
export function wholeFactor(factor: number | null): number | null {
  if (factor === null) return null;
  const whole = Math.round(factor);
  return whole >= 1 && Math.abs(factor - whole) <= 0.01 * whole ? whole : null;
}

/** "twice", "3 times". */
export function timesWord(count: number): string {
  return count === 1 ? "once" : count === 2 ? "twice" : `${count} times`;
}

/** " on rank 1" above one rank; nothing with one. */
function onRank(rank: number, worldSize: number): string {
  return worldSize > 1 ? ` on rank ${rank}` : "";
}

/** "lr 0.1", or nothing when the learning rate is unknown. */
function rateWords(learningRate: number | null): string {
  return learningRate === null ? "" : ` (learning rate ${formatNumber(learningRate)})`;
}

/** When a change outside the steps happened, as the rank's step calls bound it. */
export function outsideWhen(f: Extract<UpdateFinding, { kind: "outside-step" }>): string {
  const { since, stepsBefore, stepCalls } = f;
  const end = stepsBefore >= stepCalls;
  if (since === stepsBefore) {
    if (stepCalls === 0) return "during the run";
    if (since === 0) return "before the first step";
    if (end) return `after the last step (step ${stepCalls})`;
    return `between steps ${since} and ${nth(since)}`;
  }
  const from = since === 0 ? "the run's start" : `step ${since}`;
  return `somewhere between ${from} and ${end ? "the run's end" : `step ${nth(stepsBefore)}`}`;
}

/** What changed outside the steps: "220 fingerprint entries and 4 body parameters". */
function changedWords(f: Extract<UpdateFinding, { kind: "outside-step" }>): string {
  const parts = [
    f.fingerprintEntries > 0
      ? plural(f.fingerprintEntries, "fingerprint entry", "fingerprint entries")
      : "",
    f.bodyEntries > 0 ? plural(f.bodyEntries, "body parameter") : "",
  ].filter(Boolean);
  return parts.join(" and ");
}

/**
 * One update finding in a sentence: a step whose gradient moved no parameter, a plain-SGD step
 * that moved them by another multiple of lr·g (or by none), a change outside the steps (with the
 * step whose update it repeats, when it does).
 */
export function updateFindingText(f: UpdateFinding, wording: UpdateWording): string {
  const rank = onRank(f.rank, wording.worldSize);
  switch (f.kind) {
    case "update-missing":
      return `${stepWords(f.step, f.epoch, wording)}${rank} moved no parameter although its gradient was not zero${f.learningRate === 0 ? " (its learning rate was 0)" : ""}: the optimizer's step applied nothing`;
    case "update-factor": {
      const lr = rateWords(f.learningRate);
      const whole = wholeFactor(f.factor);
      const strays =
        f.movedWithoutGradient > 0
          ? `moved ${plural(f.movedWithoutGradient, "fingerprint entry", "fingerprint entries")} it had no gradient for`
          : "";
      const moved =
        f.factor === 1
          ? ""
          : whole !== null && whole >= 2
            ? `moved its parameters by ${whole} × lr·g${lr}: it applied its gradient ${timesWord(whole)}`
            : f.factor !== null
              ? `moved its parameters by ${formatNumber(f.factor)} × lr·g${lr}, where plain SGD moves them by lr·g`
              : `moved its parameters by no one multiple of lr·g${lr} (off by ${formatNumber(f.relError)} of the largest lr·g), where plain SGD moves them by lr·g`;
      return `${stepWords(f.step, f.epoch, wording)}${rank} ${[moved, strays].filter(Boolean).join(" and ")}`;
    }
    case "outside-step": {
      const largest = `largest change ${formatNumber(f.largest)}`;
      const head = `${changedWords(f)}${rank} changed ${outsideWhen(f)}, outside any optimizer step (${largest})`;
      if (!f.repeats) return head;
      const whole = wholeFactor(f.repeats.factor);
      const again =
        whole !== null
          ? `step ${nth(f.repeats.step)}'s update applied ${whole === 1 ? "again" : `${timesWord(whole)} more`}, so its gradient was applied ${timesWord(whole + 1)} in all`
          : `${formatNumber(f.repeats.factor)} × step ${nth(f.repeats.step)}'s update again`;
      return `${head}: ${again}`;
    }
  }
}

/** The update findings of a weighting result, each in a sentence, joined for one line. */
export function updatesMessage(result: WeightingResult, wording: UpdateWording): string {
  const found = updateFindings(result);
  if (found.length === 0) return "";
  const [first] = found;
  const more = found.length > 1 ? ` (${plural(found.length - 1, "more update finding")})` : "";
  return first ? `${updateFindingText(first, wording)}${more}` : "";
}
