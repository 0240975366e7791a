import { describe, expect, it } from "vitest";
import { LossScaler } from "./loss-scaler.js";

describe("LossScaler", () => {
  it("starts at 2^16, halves on overflow and doubles after 2000 clean steps", () => {
    const scaler = new LossScaler();
    expect(scaler.scale).toBe(65536);
    scaler.update(true);
    expect(scaler.scale).toBe(32768);
    for (let i = 0; i < 1999; i++) scaler.update(false);
    expect(scaler.scale).toBe(32768);
    scaler.update(false);
    expect(scaler.scale).toBe(65536);
  });

  it("restarts the clean-step count after an overflow", () => {
    const scaler = new LossScaler(8);
    for (let i = 0; i < 1500; i++) scaler.update(false);
    scaler.update(true);
    for (let i = 0; i < 1999; i++) scaler.update(false);
    expect(scaler.scale).toBe(4);
    scaler.update(false);
    expect(scaler.scale).toBe(8);
  });
});
