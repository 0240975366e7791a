import type { WindowingFinding, WindowingResult } from "../../properties/outcome.js";
import type { Scenario } from "../../trainers/contract/scenario.js";
import { nth, plural, positionRange, stepName } from "../words.js";

/** The findings of one kind. */
export function windowingFindings<K extends WindowingFinding["kind"]>(
  result: WindowingResult,
  kind: K,
): Array<Extract<WindowingFinding, { kind: K }>> {
  return result.findings.filter(
    (f): f is Extract<WindowingFinding, { kind: K }> => f.kind === kind,
  );
}

/**
 * Windowing in one line: the applied steps, one per window, or the step count against the
 * window count, the first window no step reproduced, and the first micro-batch of the wrong size.
 */
export function windowingMessage(result: WindowingResult, scenario: Scenario): string {
  if (result.ok) {
    const redone =
      result.skippedSteps > 0 ? `; ${plural(result.skippedSteps, "skipped step")} redone` : "";
    return `${plural(result.appliedSteps, "applied step")}, one per window of ${plural(scenario.accumulation, "micro-batch", "micro-batches")} (the epoch's last holds the rest)${redone}`;
  }
  const parts: string[] = [];
  for (const count of windowingFindings(result, "step-count"))
    parts.push(`expected ${plural(count.expected, "applied step")}, saw ${count.applied}`);
  const never = windowingFindings(result, "unproduced-windows");
  if (never.length > 0) {
    const first = never[0] as (typeof never)[number];
    const windows = never.reduce((n, f) => n + f.windows[1] - f.windows[0] + 1, 0);
    const epochs = never.length > 1 ? `, in ${plural(never.length, "epoch")}` : "";
    parts.push(
      `${plural(windows, "window")} never produced: the loader stopped after ${plural(first.producedMicroBatches, "micro-batch", "micro-batches")} of epoch ${nth(first.epoch)}, where the scenario has ${first.producedMicroBatches + first.microBatches}${epochs}`,
    );
  }
  const unmatched = windowingFindings(result, "unmatched-window");
  const m = unmatched[0];
  if (m) {
    const held =
      m.step === null
        ? "no applied step holds any of them"
        : `${stepName(m.step, m.stepEpoch ?? 0)} holds ${m.sharedSamples} of them among ${m.stepSamples}`;
    const more = unmatched.length > 1 ? ` (${plural(unmatched.length, "window")} differ)` : "";
    const ofEachRank = scenario.worldSize > 1 ? " of each rank" : "";
    parts.push(
      `epoch ${nth(m.epoch)} window ${nth(m.window)} (${positionRange(m.microBatches[0], m.microBatches[1], "micro-batch", "micro-batches")}${ofEachRank}, ${plural(m.expectedSamples, "sample")}) is not one applied step: ${held}${more}`,
    );
  }
  const irregular = windowingFindings(result, "irregular-micro-batch")[0];
  if (irregular) {
    const rank = scenario.worldSize > 1 ? ` on rank ${irregular.rank}` : "";
    parts.push(
      `epoch ${nth(irregular.epoch)} micro-batch ${nth(irregular.position)}${rank} holds ${plural(irregular.size, "sample")}, expected ${scenario.batchSize}`,
    );
  }
  return parts.join("; ");
}
