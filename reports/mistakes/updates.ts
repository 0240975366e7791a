/**
 * Mistakes in what the steps did to the parameters (properties/updates.ts): a step that applied
 * nothing, a gradient applied twice, parameters changed outside any step. Each reads the update
 * findings of weighting, whichever sampling the run used.
 */
import type { CheckJudgement, UpdateFinding } from "../../properties/outcome.js";
import { type UpdateWording, updateFindingText, wholeFactor } from "../sentences/updates.js";
import type { Evidence, Mistake, MistakeId } from "./catalogue.js";

/** The update findings of a check with their index among its weighting findings. */
function indexedUpdates(check: CheckJudgement): Array<[number, UpdateFinding]> {
  const found: Array<[number, UpdateFinding]> = [];
  check.properties.weighting.findings.forEach((f, index) => {
    if (f.kind === "update-missing" || f.kind === "update-factor" || f.kind === "outside-step")
      found.push([index, f]);
  });
  return found;
}

/** Where a finding is in the run: its step (for a change outside the steps, the step right before it). */
function evidenceOf(f: UpdateFinding, wording: UpdateWording): Evidence {
  const shows = updateFindingText(f, wording);
  if (f.kind !== "outside-step") return { step: f.step, epoch: f.epoch, shows };
  if (f.repeats) return { step: f.repeats.step, epoch: f.repeats.epoch, shows };
  return { shows };
}

/** The mistake made of the findings `matches` picks, or null when it picks none. */
function mistakeOf(
  check: CheckJudgement,
  id: MistakeId,
  matches: (f: UpdateFinding) => boolean,
): Mistake | null {
  const picked = indexedUpdates(check).filter(([, f]) => matches(f));
  if (picked.length === 0) return null;
  return {
    id,
    evidence: picked.map(([, f]) => evidenceOf(f, check.scenario)),
    explains: { updates: picked.map(([index]) => index) },
  };
}

/** A gradient applied a whole number of times more than once: k x lr·g in a step, or repeated after it. */
function appliedRepeatedly(f: UpdateFinding): boolean {
  if (f.kind === "update-factor")
    return f.movedWithoutGradient === 0 && (wholeFactor(f.factor) ?? 0) >= 2;
  return f.kind === "outside-step" && f.repeats !== null && wholeFactor(f.repeats.factor) !== null;
}

/**
 * What the steps did to the parameters, as mistakes: steps whose gradient moved nothing
 * (`update-not-applied`), a gradient applied twice or more (`update-applied-twice`: a step that
 * moved its parameters by a whole multiple of lr·g, or the step's update applied again outside
 * it), and parameters changed outside any step by anything else
 * (`parameters-changed-outside-step`). What none of them names is left to `unexplained`.
 */
export function updateMistakes(check: CheckJudgement): Mistake[] {
  return [
    mistakeOf(check, "update-not-applied", (f) => f.kind === "update-missing"),
    mistakeOf(check, "update-applied-twice", appliedRepeatedly),
    mistakeOf(
      check,
      "parameters-changed-outside-step",
      (f) => f.kind === "outside-step" && !appliedRepeatedly(f),
    ),
  ].filter((m): m is Mistake => m !== null);
}

/** The update findings that none of `named` accounts for, as evidence. */
export function unexplainedUpdates(check: CheckJudgement, named: readonly Mistake[]): Evidence[] {
  const claimed = new Set(named.flatMap((m) => m.explains.updates ?? []));
  return indexedUpdates(check)
    .filter(([index]) => !claimed.has(index))
    .map(([, f]) => evidenceOf(f, check.scenario));
}
