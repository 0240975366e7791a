import * as tf from "@tensorflow/tfjs-core";
import { EMBEDDING, FEATURES, HIDDEN, VOCABULARY } from "../contract/probe.js";

/**
 * Binary cross-entropy with logits of the logistic or mlp body (flat parameters, in the order
 * trainers/contract/probe.ts gives) for each row of `x` and its 0/1 label in `y`.
 */
export function featureBodyLosses(
  model: "logistic" | "mlp",
  body: tf.Tensor1D,
  x: tf.Tensor2D,
  y: tf.Tensor1D,
): tf.Tensor1D {
  const rows = x.shape[0];
  let logits: tf.Tensor1D;
  if (model === "logistic") {
    const w = tf.reshape(tf.slice(body, [0], [FEATURES]), [FEATURES, 1]) as tf.Tensor2D;
    const b = tf.slice(body, [FEATURES], [1]);
    logits = tf.add(tf.reshape(tf.matMul(x, w), [rows]), b);
  } else {
    let offset = 0;
    const take = (size: number) => {
      const part = tf.slice(body, [offset], [size]);
      offset += size;
      return part;
    };
    const w1 = tf.reshape(take(HIDDEN * FEATURES), [HIDDEN, FEATURES]) as tf.Tensor2D;
    const b1 = take(HIDDEN);
    const w2 = tf.reshape(take(HIDDEN), [HIDDEN, 1]) as tf.Tensor2D;
    const b2 = take(1);
    const hidden = tf.tanh(tf.add(tf.matMul(x, w1, false, true), b1)) as tf.Tensor2D;
    logits = tf.add(tf.reshape(tf.matMul(hidden, w2), [rows]), b2);
  }
  // BCE with logits: softplus(z) - y z.
  return tf.sub(tf.softplus(logits), tf.mul(y, logits));
}

/**
 * Next-token cross-entropy of the causal-lm body (embedding V x D, head D x V, bias V, flattened
 * in that order) for each loss token: the logits of input token `contexts[k]` are
 * embedding[x] @ head + bias, scored against label `targets[k]` with a log-softmax.
 */
export function causalLmTokenLosses(
  body: tf.Tensor1D,
  contexts: readonly number[],
  targets: readonly number[],
): tf.Tensor1D {
  const size = VOCABULARY * EMBEDDING;
  const embedding = tf.reshape(tf.slice(body, [0], [size]), [VOCABULARY, EMBEDDING]) as tf.Tensor2D;
  const head = tf.reshape(tf.slice(body, [size], [size]), [EMBEDDING, VOCABULARY]) as tf.Tensor2D;
  const bias = tf.slice(body, [2 * size], [VOCABULARY]);
  // Rows picked by a one-hot product rather than gather, whose gradient (UnsortedSegmentSum) wasm lacks.
  const hidden = tf.matMul(oneHotRows(contexts), embedding);
  const logProbabilities = tf.logSoftmax(tf.add(tf.matMul(hidden, head), bias));
  return tf.neg(tf.sum(tf.mul(logProbabilities, oneHotRows(targets)), 1)) as tf.Tensor1D;
}

/** One row per id, 1 at the id's column: shape [ids.length, VOCABULARY], float32. */
function oneHotRows(ids: readonly number[]): tf.Tensor2D {
  return tf.cast(
    tf.oneHot(tf.tensor1d(ids as number[], "int32"), VOCABULARY),
    "float32",
  ) as tf.Tensor2D;
}
