import { describe, expect, it } from "vitest";
import { checkErrorMessage } from "./check-error.js";

describe("checkErrorMessage", () => {
  it.each([
    [
      { kind: "trainer" as const, message: "worker exited with code 1" },
      "worker exited with code 1",
    ],
    [
      { kind: "scenario-mismatch" as const, field: "accumulation", sent: 2, received: 3 },
      "trace.scenario.accumulation: expected 2 (the scenario sent), saw 3",
    ],
    [
      {
        kind: "non-finite" as const,
        step: 1,
        epoch: 0,
        part: "body gradient" as const,
        entry: 2,
        value: Number.NaN,
      },
      "step 2 (epoch 1) applied a non-finite body gradient (entry 2: NaN); expected finite numbers in every applied step",
    ],
    [
      {
        kind: "non-finite" as const,
        step: 0,
        epoch: 0,
        part: "fingerprint weight" as const,
        entry: 0,
        value: Number.NEGATIVE_INFINITY,
      },
      "step 1 (epoch 1) applied a non-finite fingerprint weight (entry 0: -Infinity); expected finite numbers in every applied step",
    ],
  ])("%j says %s on one line", (cause, message) => {
    expect(checkErrorMessage(cause)).toBe(message);
    expect(checkErrorMessage(cause)).not.toContain("\n");
  });
});
