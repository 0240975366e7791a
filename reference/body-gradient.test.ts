import { describe, expect, it } from "vitest";
import { initialBodyParameters, lossUnits, makeDataset } from "../trainers/contract/probe.js";
import { parseScenario } from "../trainers/contract/scenario.js";
import { sampleBodyGradient, windowBodyGradient } from "./body-gradient.js";

describe("windowBodyGradient", () => {
  it("counts every draw: a sample listed twice weighs twice (a window drawn with replacement)", () => {
    for (const weighting of ["samples", "tokens"] as const) {
      const s = parseScenario({
        datasetSize: 4,
        batchSize: 3,
        accumulation: 1,
        sampling: "replacement",
        steps: 1,
        weighting,
        model: weighting === "tokens" ? "causal-lm" : "mlp",
        ...(weighting === "tokens" ? { lengths: [2, 3, 1, 4] } : {}),
      });
      const data = makeDataset(s);
      const params = initialBodyParameters(s);
      const units = lossUnits(s);
      const model = s.model as "mlp" | "causal-lm";
      const [g1, g2] = [1, 2].map((i) => sampleBodyGradient(model, params, data, i));
      const [u1, u2] = [units[1] ?? 0, units[2] ?? 0];
      const expected = (g1 ?? []).map((v, j) => (2 * u1 * v + u2 * (g2?.[j] ?? 0)) / (2 * u1 + u2));
      const { gradient } = windowBodyGradient(model, params, data, [1, 2, 1], units);
      gradient.forEach((v, j) => {
        expect(v).toBeCloseTo(expected[j] ?? Number.NaN, 14);
      });
    }
  });
});
