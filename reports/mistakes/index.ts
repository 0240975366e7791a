import type { CheckJudgement } from "../../properties/outcome.js";
import type { Mistake } from "./catalogue.js";
import { detectDrawMistakes, drawsWithReplacement } from "./draws.js";
import { appliedTwice, replicasDrift, samplerPadding, skippedStepLost } from "./occurrences.js";
import { RunReading } from "./reading.js";
import { stepSemanticsMistakes } from "./step-semantics.js";
import { unexplained } from "./unexplained.js";
import { updateMistakes } from "./updates.js";
import { bodyPrecision, lossScalings, scaledSteps } from "./weights.js";
import {
  counterAcrossEpochs,
  firstStepEarly,
  noStep,
  stepBudget,
  tailNeverStepped,
  tailSplit,
  tailsUnfed,
} from "./windows.js";

export { type Evidence, MISTAKE_IDS, type Mistake, type MistakeId } from "./catalogue.js";

/**
 * The mistakes a failing check's trace shows, each with its evidence, most basic first; what no
 * known mistake explains comes last as `unexplained`, with what the trace shows. Empty for a
 * check that passed.
 */
export function detectMistakes(check: CheckJudgement): Mistake[] {
  if (check.verdict === "pass") return [];
  if (check.scenario.sampling === "replacement") return detectDrawMistakes(check);
  // A loop that draws with replacement explains every epoch-shaped finding: name it alone.
  const drawn = drawsWithReplacement(check);
  if (drawn) return [drawn];
  const r = new RunReading(check);
  const nothing = noStep(r);
  if (nothing) return [nothing];
  // What the steps did to the parameters comes first: an update that did not happen undoes the rest.
  const found: Mistake[] = updateMistakes(check);
  const add = (m: Mistake | null) => {
    if (m) found.push(m);
  };
  const early = firstStepEarly(r);
  add(early);
  const across = counterAcrossEpochs(r, early !== null);
  add(across);
  // A counter running across epochs leaves the run's last micro-batches unstepped: that loss is its.
  add(tailNeverStepped(r, across !== null));
  add(tailSplit(r));
  add(stepBudget(r, tailsUnfed(r)));
  add(skippedStepLost(r));
  add(samplerPadding(r));
  add(appliedTwice(r));
  for (const m of lossScalings(r)) add(m);
  add(scaledSteps(r));
  add(bodyPrecision(r));
  add(replicasDrift(r));
  const steps = stepSemanticsMistakes(check);
  found.push(...steps.found);
  const rest = unexplained(r, found);
  if (rest || steps.unexplained.length > 0)
    found.push({
      id: "unexplained",
      evidence: [...(rest?.evidence ?? []), ...steps.unexplained],
      explains: {},
    });
  return found;
}
