/**
 * Auditing your own TensorFlow.js accumulation loop from a test, the way a user of the package
 * does: install the package (`npm install --save-dev PATH`, PATH a checkout of accumaudit or the
 * tarball `npm pack` makes of it) and vitest, then a test like this one.
 *
 * A loop is written on a training session, which reads like a PyTorch script: `loader.epoch(e)`
 * yields the epoch's micro-batches (sample ids), `model.perSampleLosses(batch)` is the forward
 * pass, `gradients.backward(() => loss)` is `loss.backward()`, `optimizer.step()` and
 * `optimizer.zeroGrad()` are what they say. The session runs on accumaudit's probe model, whose
 * gradients tell which sample was applied by which step with which weight.
 *
 * An audit runs the loop on the two known counterexamples and on generated scenarios (40 here):
 * 0.5 s to refute the first loop below and 1.1 s to pass the fixed one on this project's machine
 * (`npx vitest run examples`), more with more runs, larger scenarios or a slower backend, so each
 * test sets its own timeout rather than rely on vitest's default of 5 s.
 */
import {
  adviceFor,
  auditTrainer,
  defineTfjsTrainer,
  explainAudit,
  missionScenarios,
  parseScenario,
  runCheck,
  tf,
} from "accumaudit";
import { describe, expect, it } from "vitest";

/** My first loop: each micro-batch's mean loss divided by K, a step every K and at the epoch's end. */
const myFirstLoop = defineTfjsTrainer({
  name: "my-first-loop",
  loop: ({ scenario, loader, model, gradients, optimizer }) => {
    const k = scenario.accumulation;
    for (let epoch = 0; epoch < scenario.epochs; epoch++) {
      let i = 0;
      for (const batch of loader.epoch(epoch)) {
        gradients.backward(() => tf.div(tf.mean(model.perSampleLosses(batch)), k));
        i += 1;
        if (i % k === 0 || i === loader.length) {
          optimizer.step();
          optimizer.zeroGrad();
        }
      }
    }
  },
});

/** The same loop, fixed the way the audit advises: per-sample losses summed, divided by the window's sample count. */
const myFixedLoop = defineTfjsTrainer({
  name: "my-fixed-loop",
  loop: ({ scenario, loader, model, gradients, optimizer }) => {
    const k = scenario.accumulation;
    for (let epoch = 0; epoch < scenario.epochs; epoch++) {
      const batches = [...loader.epoch(epoch)];
      for (let first = 0; first < batches.length; first += k) {
        const window = batches.slice(first, first + k);
        const samples = window.reduce((sum, batch) => sum + batch.length, 0);
        for (const batch of window)
          gradients.backward(() => tf.div(tf.sum(model.perSampleLosses(batch)), samples));
        optimizer.step();
        optimizer.zeroGrad();
      }
    }
  },
});

const options = { runs: 40, seed: 2026, regressions: missionScenarios() };

describe("auditing my own TensorFlow.js loop", () => {
  it("finds that my first loop under-weights the epoch's last window, and says how to fix it", {
    timeout: 120_000,
  }, async () => {
    const outcome = await auditTrainer(myFirstLoop, options);
    expect(outcome.verdict, explainAudit(outcome)).toBe("fail");
    if (outcome.search.kind !== "refuted") throw new Error(explainAudit(outcome));

    const { check } = outcome.search.counterexample;
    if (check.verdict !== "fail") throw new Error(explainAudit(outcome));
    expect(check.properties.coverage.ok).toBe(true); // every sample is used once...
    expect(check.properties.weighting.ok).toBe(false); // ...but not with the weight 1/|W|
    const advice = adviceFor(check);
    expect(advice.map((a) => a.id)).toContain("tail-divided-by-k");
    expect(advice[0]?.snippet.language).toBe("typescript");
    expect(advice[0]?.reference).toBe("trainers/tfjs/loops/reference.ts");
    expect(explainAudit(outcome)).toContain("how to fix it:");
  });

  it("holds every property once fixed", { timeout: 120_000 }, async () => {
    const outcome = await auditTrainer(myFixedLoop, options);
    expect(outcome.verdict, explainAudit(outcome)).toBe("pass");
    expect(outcome.search).toEqual({ kind: "passed", casesRun: 40 });
  });

  it("replays one scenario with runCheck", { timeout: 60_000 }, async () => {
    const scenario = parseScenario({ datasetSize: 110, batchSize: 8, accumulation: 4, epochs: 2 });
    const first = await runCheck(myFirstLoop, scenario);
    const fixed = await runCheck(myFixedLoop, scenario);
    expect([first.verdict, fixed.verdict]).toEqual(["fail", "pass"]);
  });
});
