/** Every sentence accumaudit says about a check, made from its findings: one place for all outputs. */
import type { CheckJudgement, PropertyName } from "../../properties/outcome.js";
import { coverageMessage } from "./coverage.js";
import { drawCoverageMessage, drawWeightingMessage, drawWindowingMessage } from "./draws.js";
import { tokenWeightingOf } from "./loss-tokens.js";
import { replicasMessage } from "./replicas.js";
import { averagingMessage, optimizerStateMessage, scheduleMessage } from "./step-semantics.js";
import { weightingMessage } from "./weighting.js";
import { windowingMessage } from "./windowing.js";

export {
  checkErrorMessage,
  errorDetailJson,
  printedLines,
  tracebackLines,
} from "./check-error.js";
export { coverageMessage } from "./coverage.js";
export { explainCheck, leadSentence } from "./explanation.js";
export { interruptedSentence } from "./interrupted.js";
export { type TokenWeighting, tokenWeightingOf } from "./loss-tokens.js";
export { replicasMessage } from "./replicas.js";
export { averagingMessage, optimizerStateMessage, scheduleMessage } from "./step-semantics.js";
export { weightingMessage } from "./weighting.js";
export { windowingMessage } from "./windowing.js";

/** One line per property, as the text output, the JSON `message` fields and the HTML show it. */
export function propertyMessage(check: CheckJudgement, property: PropertyName): string {
  const { properties, scenario } = check;
  if (
    scenario.sampling === "replacement" &&
    (property === "coverage" || property === "weighting" || property === "windowing")
  )
    return property === "coverage"
      ? drawCoverageMessage(properties.coverage, scenario)
      : property === "weighting"
        ? drawWeightingMessage(properties.weighting, scenario)
        : drawWindowingMessage(properties.windowing, scenario);
  switch (property) {
    case "coverage":
      return coverageMessage(properties.coverage, scenario);
    case "weighting":
      return weightingMessage(
        properties.weighting,
        tokenWeightingOf(check),
        scenario.worldSize,
        scenario.clipNorm,
      );
    case "windowing":
      return windowingMessage(properties.windowing, scenario);
    case "replicas":
      return replicasMessage(properties.replicas);
    case "schedule":
      return scheduleMessage(properties.schedule, scenario);
    case "averaging":
      return averagingMessage(properties.averaging);
    case "optimizer":
      return optimizerStateMessage(properties.optimizer);
  }
}
