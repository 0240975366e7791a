import * as tf from "@tensorflow/tfjs-core";
import { beforeAll, describe, expect, it } from "vitest";
import { sampleBodyGradient } from "../../reference/body-gradient.js";
import { EMBEDDING, initialBodyParameters, makeDataset, VOCABULARY } from "../contract/probe.js";
import { parseScenario } from "../contract/scenario.js";
import { selectBackend } from "./backend.js";
import { causalLmTokenLosses } from "./body-losses.js";
import { lossTokensOf } from "./loss-tokens.js";

// tfjs-core's Node build registers no gradients; the bundle does (see gradients.ts).
import "@tensorflow/tfjs";

/** Float64 next-token cross-entropy of the causal-lm body for input token x and label y. */
function crossEntropy(theta: readonly number[], x: number, y: number): number {
  const at = (k: number) => theta[k] ?? Number.NaN;
  const head = VOCABULARY * EMBEDDING;
  const logits = Array.from({ length: VOCABULARY }, (_, v) => {
    let z = at(2 * head + v);
    for (let d = 0; d < EMBEDDING; d++) z += at(x * EMBEDDING + d) * at(head + d * VOCABULARY + v);
    return z;
  });
  const top = Math.max(...logits);
  const logSum = top + Math.log(logits.reduce((s, z) => s + Math.exp(z - top), 0));
  return logSum - (logits[y] ?? Number.NaN);
}

const scenario = parseScenario({
  datasetSize: 12,
  batchSize: 4,
  accumulation: 1,
  weighting: "tokens",
  model: "causal-lm",
  lengths: "0-7",
  dataSeed: 3,
});
const dataset = makeDataset(scenario);
const tokens = lossTokensOf(dataset.tokens ?? { inputIds: [], labels: [] });
const theta = initialBodyParameters(scenario).map(Math.fround);

beforeAll(() => selectBackend("cpu"));

describe("causal-lm body", () => {
  it("gives each loss token the float64 cross-entropy of its next label", () => {
    const contexts = tokens.contexts.flat();
    const targets = tokens.targets.flat();
    expect(contexts.length).toBeGreaterThan(20);
    const losses = tf.tidy(() =>
      Array.from(causalLmTokenLosses(tf.tensor1d(theta), contexts, targets).dataSync()),
    );
    losses.forEach((loss, k) => {
      const expected = crossEntropy(theta, contexts[k] ?? -1, targets[k] ?? -1);
      expect(Math.abs(loss - expected), `token ${k}`).toBeLessThan(1e-6 * Math.max(1, expected));
    });
  });

  it("has the gradient of the float64 oracle for each sample's mean token loss", () => {
    for (let sample = 0; sample < scenario.datasetSize; sample++) {
      const contexts = tokens.contexts[sample] ?? [];
      const targets = tokens.targets[sample] ?? [];
      const n = Math.max(targets.length, 1);
      const gradient = tf.tidy(() => {
        const meanLoss = (body: tf.Tensor) =>
          tf.div(tf.sum(causalLmTokenLosses(body as tf.Tensor1D, contexts, targets)), n);
        return Array.from(tf.grad(meanLoss)(tf.tensor1d(theta)).dataSync());
      });
      const expected = sampleBodyGradient("causal-lm", theta, dataset, sample);
      const scale = Math.max(1, Math.hypot(...expected));
      gradient.forEach((g, k) => {
        expect(
          Math.abs(g - (expected[k] ?? Number.NaN)),
          `sample ${sample}, parameter ${k}`,
        ).toBeLessThan(1e-6 * scale);
      });
    }
  });

  it("gives no loss and no gradient for no loss tokens", () => {
    const [losses, gradient] = tf.tidy(() => {
      const body = tf.tensor1d(theta);
      const grad = tf.grad((b: tf.Tensor) => tf.sum(causalLmTokenLosses(b as tf.Tensor1D, [], [])));
      return [causalLmTokenLosses(body, [], []).shape, Array.from(grad(body).dataSync())];
    });
    expect(losses).toEqual([0]);
    expect(gradient.every((g) => g === 0)).toBe(true);
  });
});
