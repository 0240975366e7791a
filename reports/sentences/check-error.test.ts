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
      { kind: "trainer" as const, message: "name\x1b[2J\nPASS  forged\r\u202e" },
      "name\\x1b[2J\\nPASS  forged\\r\\u202e",
    ],
  ])("%j says %s on one line", (cause, message) => {
    expect(checkErrorMessage(cause)).toBe(message);
    expect(checkErrorMessage(cause)).not.toContain("\n");
  });
});
