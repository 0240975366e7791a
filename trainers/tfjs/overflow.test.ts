import * as tf from "@tensorflow/tfjs-core";
import { describe, expect, it } from "vitest";
import { OverflowHook } from "./overflow.js";
import "@tensorflow/tfjs";

/** The gradient of sum(hook(x)) with respect to x. */
function gradientThrough(hook: OverflowHook): number[] {
  const x = tf.tensor1d([1, 2]);
  const g = tf.grad((input: tf.Tensor) => tf.sum(hook.hook(input as tf.Tensor1D)))(x);
  const values = Array.from(g.dataSync());
  x.dispose();
  g.dispose();
  return values;
}

describe("the probe's forced overflow", () => {
  it("gives the first backward pass after S - 1 applied steps an infinite gradient, once", () => {
    const hook = new OverflowHook(2);
    expect(gradientThrough(hook)).toEqual([1, 1]);
    hook.noteAppliedStep();
    expect(gradientThrough(hook)).toEqual([Infinity, Infinity]);
    expect(gradientThrough(hook)).toEqual([1, 1]); // the window redone
    hook.noteAppliedStep();
    expect(gradientThrough(hook)).toEqual([1, 1]);
  });

  it("leaves the value alone, and does nothing without a window", () => {
    const hook = new OverflowHook(1);
    const x = tf.tensor1d([3, -4]);
    expect(Array.from(hook.hook(x).dataSync())).toEqual([3, -4]);
    expect(gradientThrough(new OverflowHook(null))).toEqual([1, 1]);
  });
});
