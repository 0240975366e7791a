/**
 * What the built-in optimizer did to the parameters, recorded per step (`update`) and between
 * steps (`outsideSteps`): a correct loop passes; a loop that assigns a variable between steps, and
 * an optimizer whose update is broken, fail with a finding that names what happened.
 */
import * as tf from "@tensorflow/tfjs-core";
import { describe, expect, it } from "vitest";
import { runCheck } from "../../properties/run-check.js";
import { mistakesOf } from "../../reports/advice.js";
import { propertyMessage } from "../../reports/sentences/index.js";
import { makeDataset } from "../contract/probe.js";
import { parseScenario, type ScenarioInput } from "../contract/scenario.js";
import { defineTfjsTrainer } from "./define.js";
import { referenceLoop } from "./loops/reference.js";
import { runSession, type TrainingSession } from "./session.js";

const SCENARIO: ScenarioInput = {
  datasetSize: 20,
  batchSize: 4,
  accumulation: 2,
  epochs: 2,
  model: "logistic",
};

/** The correct loop, with `afterStep(n)` after the n-th step (from 1). */
function windowLoop(afterStep: (session: TrainingSession, steps: number) => void) {
  return (session: TrainingSession) => {
    const { scenario: s, loader, model, gradients, optimizer } = session;
    let steps = 0;
    for (let epoch = 0; epoch < s.epochs; epoch++) {
      const batches = [...loader.epoch(epoch)];
      for (let first = 0; first < batches.length; first += s.accumulation) {
        const window = batches.slice(first, first + s.accumulation);
        const n = window.reduce((sum, batch) => sum + batch.length, 0);
        for (const batch of window)
          gradients.backward(() => tf.div(tf.sum(model.perSampleLosses(batch)), n));
        optimizer.step();
        afterStep(session, ++steps);
        optimizer.zeroGrad();
      }
    }
  };
}

const check = (name: string, loop: (session: TrainingSession) => void, input = SCENARIO) =>
  runCheck(defineTfjsTrainer({ name, loop }), parseScenario(input));

describe("the built-in optimizer's updates", () => {
  it("records every step as plain SGD that moved each parameter by lr·g, and the reference passes", async () => {
    const scenario = parseScenario(SCENARIO);
    const trace = await runSession("reference", scenario, makeDataset(scenario), {}, referenceLoop);
    expect(trace.outsideSteps).toBeUndefined();
    for (const step of trace.steps) {
      expect(step.update).toMatchObject({ rule: "sgd", learningRate: 0.1 });
      step.fingerprint.weights.forEach((w, k) => {
        expect(step.update?.fingerprint[k]).toBeCloseTo(0.1 * w, 8);
      });
      step.body?.gradient.forEach((g, j) => {
        expect(step.update?.body?.[j]).toBeCloseTo(0.1 * g, 6);
      });
    }
    expect(
      (
        await check(
          "windows",
          windowLoop(() => {}),
        )
      ).verdict,
    ).toBe("pass");
  });

  it("names a body scaled between steps and phi assigned after a step", async () => {
    const scaled = await check(
      "scales-body",
      windowLoop(({ model }) => {
        const body = model.body as tf.Variable;
        body.assign(tf.tidy(() => tf.mul(body, 0.5)));
      }),
    );
    if (scaled.verdict === "error") throw new Error("expected a judged check");
    expect(scaled.verdict).toBe("fail");
    expect(mistakesOf(scaled)).toEqual(["parameters-changed-outside-step"]);
    expect(propertyMessage(scaled, "weighting")).toMatch(
      /^4 body parameters changed between steps 1 and 2, outside any optimizer step/,
    );
    const edited = await check(
      "edits-phi",
      windowLoop(({ model }, steps) => {
        if (steps === 2) model.fingerprint.assign(tf.tidy(() => tf.add(model.fingerprint, 0.1)));
      }),
    );
    if (edited.verdict === "error") throw new Error("expected a judged check");
    expect(mistakesOf(edited)).toEqual(["parameters-changed-outside-step"]);
    expect(propertyMessage(edited, "weighting")).toBe(
      "40 fingerprint entries changed between steps 2 and 3, outside any optimizer step (largest change 0.1)",
    );
  });

  it("catches a broken optimizer: an update that moves nothing, or applies the gradient twice", async () => {
    const broken = await check("no-update", (session) => {
      const body = session.model.body as tf.Variable;
      session.model.updateFingerprint = () => {};
      body.assign = () => {};
      windowLoop(() => {})(session);
    });
    if (broken.verdict === "error") throw new Error("expected a judged check");
    expect(mistakesOf(broken)).toEqual(["update-not-applied"]);
    const twice = await check(
      "twice",
      (session) => {
        const update = session.model.updateFingerprint.bind(session.model);
        session.model.updateFingerprint = (indices, gradient, lr) =>
          update(indices, gradient, 2 * lr);
        windowLoop(() => {})(session);
      },
      { ...SCENARIO, model: "fingerprint" },
    );
    if (twice.verdict === "error") throw new Error("expected a judged check");
    expect(mistakesOf(twice)).toEqual(["update-applied-twice"]);
    expect(propertyMessage(twice, "weighting")).toMatch(
      /^step 1 \(epoch 1\) moved its parameters by 2 × lr·g \(learning rate 0\.1\): it applied its gradient twice/,
    );
  });
});
