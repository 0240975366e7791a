import { describe, expect, it } from "vitest";
import { ADAMW, AdamWMoments, adamWFactors } from "./adamw.js";

/** torch.optim.AdamW's update in float64, dense: the reference the float32 moments are held to. */
function adamW64(theta: number[], gradients: number[][], rates: number[]): number[] {
  const m = theta.map(() => 0);
  const v = theta.map(() => 0);
  const p = [...theta];
  gradients.forEach((g, step) => {
    const lr = rates[step] ?? 0;
    const t = step + 1;
    p.forEach((_, k) => {
      const gk = g[k] ?? 0;
      p[k] = (p[k] ?? 0) * (1 - lr * ADAMW.weightDecay);
      m[k] = ADAMW.beta1 * (m[k] ?? 0) + (1 - ADAMW.beta1) * gk;
      v[k] = ADAMW.beta2 * (v[k] ?? 0) + (1 - ADAMW.beta2) * gk * gk;
      const denominator = Math.sqrt(v[k] ?? 0) / Math.sqrt(1 - ADAMW.beta2 ** t) + ADAMW.eps;
      p[k] = (p[k] ?? 0) - (lr / (1 - ADAMW.beta1 ** t)) * ((m[k] ?? 0) / denominator);
    });
  });
  return p;
}

describe("AdamW's moments", () => {
  it("follow torch's AdamW in float32, entries without a gradient included", () => {
    const theta0 = [0.5, -1, 0, 0, 2];
    // Sparse gradients: entry 3 never gets one, entry 2 only at the first step.
    const steps = [
      { indices: [0, 1, 2], values: [0.1, -0.4, 0.02] },
      { indices: [0, 4], values: [0.3, 1e-3] },
      { indices: [1, 4], values: [-0.2, 0.5] },
    ];
    const rates = [0.1, 0.05, 0.01];
    const moments = new AdamWMoments(theta0.length);
    moments.touch([4]); // a value outside the steps: weight decay acts on it from the start
    const theta = Float32Array.from(theta0);
    const moved = steps.map((g, s) =>
      moments.step(theta, g.indices, g.values, adamWFactors(rates[s] ?? 0, s + 1)),
    );
    const dense = steps.map((g) => {
      const row = theta0.map(() => 0);
      g.indices.forEach((index, k) => {
        row[index] = g.values[k] ?? 0;
      });
      return row;
    });
    const expected = adamW64(theta0, dense, rates);
    for (let k = 0; k < theta.length; k++)
      expect(theta[k], `entry ${k}`).toBeCloseTo(expected[k] ?? 0, 6);
    expect(theta[3]).toBe(0);
    // Step 1: entry 4 decays without a gradient; step 2: 1 and 2 move on their moments; step 3: 0 and 2.
    expect(moved).toEqual([1, 2, 2]);
  });

  it("moves an entry by about lr on its first step, whatever the gradient's size", () => {
    const theta = new Float32Array(1);
    new AdamWMoments(1).step(theta, [0], [1e-3], adamWFactors(0.01, 1));
    expect(theta[0]).toBeCloseTo(-0.01, 6);
  });
});
