import * as tf from "@tensorflow/tfjs-core";
// The gradient functions of the ops (tfjs-core alone has none), as trainers/tfjs/gradients.ts loads them.
import "@tensorflow/tfjs";
import {
  type Dataset,
  FINGERPRINT_COEFFICIENT,
  initialBodyParameters,
} from "../trainers/contract/probe.js";
import type { Scenario } from "../trainers/contract/scenario.js";
import type { Backend } from "../trainers/contract/trainer.js";
import { selectBackend } from "../trainers/tfjs/backend.js";

/**
 * Throws unless the bare loops train this scenario: fingerprint or logistic model, sample
 * weighting, fp32, no shuffle, one rank.
 */
export function checkBareScenario(scenario: Scenario): void {
  const fits =
    (scenario.model === "fingerprint" || scenario.model === "logistic") &&
    scenario.weighting === "samples" &&
    scenario.precision === "fp32" &&
    scenario.shuffle === false &&
    scenario.worldSize === 1;
  if (!fits)
    throw new RangeError(
      `bare loop: expected the fingerprint or logistic model, sample weighting, fp32, no shuffle and one rank, saw model ${scenario.model}, ${scenario.weighting}, ${scenario.precision}, shuffle ${String(scenario.shuffle)}, ${scenario.worldSize} ranks`,
    );
}

/** The sample ids of each micro-batch of an epoch, in index order. */
function microBatches(scenario: Scenario): number[][] {
  const batches: number[][] = [];
  for (let start = 0; start < scenario.datasetSize; start += scenario.batchSize) {
    const end = Math.min(start + scenario.batchSize, scenario.datasetSize);
    if (scenario.dropLast && end - start < scenario.batchSize) break;
    batches.push(Array.from({ length: end - start }, (_, k) => start + k));
  }
  return batches;
}

/**
 * The bench's bare TensorFlow.js loop: a plain, correct accumulation loop with no accumaudit
 * probe, recorder or trace, on a model of the probe's size: phi, one parameter per sample per
 * epoch (sample i's loss in epoch e holds c x phi[e][i]), plus the logistic body when the
 * scenario has it. phi is held as one variable per micro-batch of each epoch (B parameters, the
 * last one what is left), as a model holds its parameters in many tensors. Each micro-batch's
 * gradient comes from `tf.variableGrads` over the variables its loss reads (its phi and the
 * body); the window's gradients are summed, divided by the window's sample count and applied by
 * `tf.train.sgd`; windows are K consecutive micro-batches, the epoch's last one holding what is
 * left. Builds its variables and tensors, trains, and returns sum(phi) (-learningRate x windows
 * x epochs for a correct loop), freeing every tensor it made.
 *
 * Why not simpler, on the cpu backend (B = 32, K = 4): one variable of epochs x N has a dense
 * gradient of epochs x N numbers per micro-batch, so the loop grows as N^2 / B (81 s at
 * N = 1e5, 1.1 s at 1e4; this loop: 1.3 s and 0.3 s); reading it with `tf.gather` is worse (its
 * gradient, unsortedSegmentSum, runs kernels per entry of phi); and `tf.variableGrads` over all
 * the per-micro-batch variables grows as N^2 too (tfjs-core's tape filter loops over the list
 * for every op input): 12.7 s at 1e5.
 */
export async function trainBareTfjs(
  scenario: Scenario,
  dataset: Dataset,
  backend: Backend = "cpu",
): Promise<number> {
  checkBareScenario(scenario);
  await selectBackend(backend);
  const batches = microBatches(scenario);
  const phi = Array.from({ length: scenario.epochs }, () =>
    batches.map((ids) => tf.tidy(() => tf.variable(tf.zeros([ids.length])))),
  );
  const body =
    scenario.model === "logistic"
      ? tf.tidy(() => tf.variable(tf.tensor1d(initialBodyParameters(scenario))))
      : null;
  const features = body === null ? null : tf.tensor2d(dataset.features);
  const labels = body === null ? null : tf.tensor1d(dataset.labels);
  const variables = [...phi.flat(), ...(body === null ? [] : [body])];
  const optimizer = tf.train.sgd(scenario.learningRate);
  try {
    for (let epoch = 0; epoch < scenario.epochs; epoch++) {
      for (let first = 0; first < batches.length; first += scenario.accumulation) {
        const window = batches.slice(first, first + scenario.accumulation);
        const count = window.reduce((total, ids) => total + ids.length, 0);
        let summed: tf.NamedTensorMap = {};
        for (const [offset, ids] of window.entries()) {
          const own = phi[epoch]?.[first + offset] as tf.Variable;
          const rows = tf.tensor1d(ids, "int32");
          const { value, grads } = tf.variableGrads(() => {
            // As the probe, no multiplication by c = 1 (x * 1 is x, and so is its gradient).
            const phiSum = tf.sum(own);
            let loss =
              FINGERPRINT_COEFFICIENT === 1 ? phiSum : tf.mul(phiSum, FINGERPRINT_COEFFICIENT);
            if (body !== null && features !== null && labels !== null) {
              const z = tf.add(
                tf.matMul(tf.gather(features, rows), tf.reshape(tf.slice(body, 0, 3), [3, 1])),
                tf.slice(body, 3, 1),
              );
              const logits = tf.reshape(z, [-1]);
              const y = tf.gather(labels, rows);
              loss = tf.add(loss, tf.sum(tf.sub(tf.softplus(logits), tf.mul(y, logits))));
            }
            return loss as tf.Scalar;
          }, [own, ...(body === null ? [] : [body])]);
          value.dispose();
          rows.dispose();
          const next: tf.NamedTensorMap = { ...summed };
          for (const [name, gradient] of Object.entries(grads)) {
            const previous = summed[name];
            next[name] = previous === undefined ? gradient : tf.add(previous, gradient);
            if (previous !== undefined) {
              previous.dispose();
              gradient.dispose();
            }
          }
          summed = next;
        }
        const mean = tf.tidy(() =>
          Object.fromEntries(Object.entries(summed).map(([name, g]) => [name, tf.div(g, count)])),
        );
        tf.dispose(Object.values(summed));
        optimizer.applyGradients(mean);
        tf.dispose(Object.values(mean));
      }
    }
    return phi
      .flat()
      .reduce((total, v) => total + tf.tidy(() => tf.sum(v).dataSync()[0] as number), 0);
  } finally {
    optimizer.dispose();
    tf.dispose([...variables, ...(features ? [features] : []), ...(labels ? [labels] : [])]);
  }
}
