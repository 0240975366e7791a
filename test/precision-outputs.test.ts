/**
 * A trainer that ran another precision than it was asked for (the trace's `trainer.precision`):
 * the weighting is held to the tolerance of what ran, and text, JSON and HTML say "asked X, ran Y".
 */
import { describe, expect, it } from "vitest";
import type { CheckJudgement } from "../properties/outcome.js";
import { runCheck } from "../properties/run-check.js";
import { TOLERANCES } from "../properties/tolerance.js";
import { renderCheckReport } from "../reports/html/index.js";
import { checkJson } from "../reports/json.js";
import { formatCheck, formatTrainerAudit } from "../reports/text.js";
import { precisionWords, trainerLabel } from "../reports/words.js";
import { parseScenario, type Scenario } from "../trainers/contract/scenario.js";
import type { TrainerInfo } from "../trainers/contract/trace.js";
import { createTfjsTrainers } from "../trainers/tfjs/index.js";
import { judge, testRun } from "./support/outcomes.js";
import { simulateTrace } from "./support/simulated-trace.js";

const PYTORCH = { framework: "pytorch", frameworkVersion: "2.13.0" };

/**
 * The reference loop on 8/2/2 (logistic body) asked for `asked`, its trainer saying `info`, with
 * one weight of its first step off by `relError` (every other weight exact).
 */
function checkOf(
  asked: Scenario["precision"],
  info: Omit<TrainerInfo, "name">,
  relError = 0,
): CheckJudgement {
  const trace = simulateTrace(
    { datasetSize: 8, batchSize: 2, accumulation: 2, model: "logistic", precision: asked },
    "reference",
    { name: "python:mine:train", ...PYTORCH, ...info },
  );
  const first = trace.steps[0];
  if (!first) throw new Error("expected a step");
  first.fingerprint.weights[0] = (first.fingerprint.weights[0] ?? 0) * (1 + relError);
  return judge(trace);
}

describe("the tolerance follows the precision that ran", () => {
  it("asked fp16, ran fp32: held to fp32's tolerance, so a 3e-3 weight error fails", () => {
    const asAsked = checkOf("fp16", {}, 3e-3);
    expect(asAsked.properties.weighting.tolerance).toBe(TOLERANCES.fp16.weight);
    expect(asAsked.verdict).toBe("pass");
    const ranFp32 = checkOf("fp16", { precision: "fp32" }, 3e-3);
    expect(ranFp32.properties.weighting.tolerance).toBe(TOLERANCES.fp32.weight);
    expect(ranFp32.properties.weighting.bodyTolerance).toBe(TOLERANCES.fp32.body);
    expect(ranFp32.verdict).toBe("fail");
    expect(ranFp32.properties.weighting.ok).toBe(false);
  });

  it("asked fp32, ran bf16: held to bf16's, and the passing message states what that detects", () => {
    const check = checkOf("fp32", { precision: "bf16" }, 3e-3);
    expect(check.verdict).toBe("pass");
    expect(check.properties.weighting.tolerance).toBe(TOLERANCES.bf16.weight);
    expect(formatCheck(check)).toContain(
      "detects weight errors above 0.04 (an off-by-one sample count in windows of up to 23 samples)",
    );
  });
});

describe("asked X, ran Y", () => {
  it("is said only when what ran is not what was asked", () => {
    expect(precisionWords("fp16", { name: "t", precision: "fp32" })).toBe("asked fp16, ran fp32");
    expect(precisionWords("fp16", { name: "t" })).toBeNull();
    expect(precisionWords("fp16", undefined)).toBeNull();
    expect(
      precisionWords("fp32", { name: "t", precision: "bf16", forwardPrecisions: ["bf16", "fp32"] }),
    ).toBe("asked fp32, ran bf16 and fp32");
    expect(precisionWords("bf16", { name: "t", forwardPrecisions: ["bf16", "fp32"] })).toBe(
      "asked bf16, ran bf16 and fp32",
    );
  });

  it("labels a check's trainer; an audit's label, which spans checks, names the framework only", () => {
    const info = { name: "python:lightning", framework: "lightning", frameworkVersion: "2.6.6" };
    expect(trainerLabel("python:lightning", { ...info, precision: "bf16" }, "fp16")).toBe(
      "python:lightning (lightning 2.6.6, asked fp16, ran bf16)",
    );
    expect(trainerLabel("python:lightning", { ...info, precision: "bf16" })).toBe(
      "python:lightning (lightning 2.6.6)",
    );
    expect(trainerLabel("python:lightning", info, "bf16")).toBe(
      "python:lightning (lightning 2.6.6)",
    );
    expect(trainerLabel("mine", { name: "mine", precision: "fp32" }, "fp16")).toBe(
      "mine (asked fp16, ran fp32)",
    );
    expect(trainerLabel("reference", undefined, "fp16")).toBe("reference");
  });

  it("text: the check's first line, and an audit's line for each regression scenario", () => {
    const check = checkOf("fp16", { precision: "fp32" });
    expect(formatCheck(check).split("\n")[0]).toBe(
      "PASS  python:mine:train (pytorch 2.13.0, asked fp16, ran fp32)  N 8 · B 2 · K 2 · 1 epoch · fp16 · logistic body",
    );
    const audit = formatTrainerAudit(
      {
        trainer: check.trainer,
        trainerInfo: check.trainerInfo,
        verdict: "pass",
        worldSizes: [1, 1],
        search: { kind: "passed", casesRun: 3 },
        regressions: [check, checkOf("fp16", {})],
      },
      () => "replay",
    ).split("\n");
    expect(audit[0]).toBe(
      "PASS  python:mine:train (pytorch 2.13.0): no counterexample in 3 generated scenarios",
    );
    expect(audit[1]).toMatch(/^ {2}8\/2\/2 x1 fp16 logistic \(asked fp16, ran fp32\): PASS /);
    expect(audit[2]).toMatch(/^ {2}8\/2\/2 x1 fp16 logistic: PASS /);
  });

  it("JSON: scenario.precision is what was asked, trainerInfo.precision what ran, always", () => {
    const changed = checkJson(checkOf("fp16", { precision: "fp32" }));
    expect(changed.scenario.precision).toBe("fp16");
    expect(changed.trainerInfo?.precision).toBe("fp32");
    const asAsked = checkJson(checkOf("fp16", {}));
    expect(asAsked.scenario.precision).toBe("fp16");
    expect(asAsked.trainerInfo?.precision).toBe("fp16");
    const mixed = checkJson(
      checkOf("fp32", { precision: "bf16", forwardPrecisions: ["bf16", "fp32"] }),
    );
    expect(mixed.trainerInfo).toMatchObject({
      precision: "bf16",
      forwardPrecisions: ["bf16", "fp32"],
    });
  });

  it("HTML: the page's title and a line beside the scenario, with the tolerance it was held to", async () => {
    const page = await renderCheckReport({
      check: checkOf("fp16", { precision: "fp32" }),
      run: testRun("check"),
    });
    expect(page).toContain(
      "accumaudit check: python:mine:train (pytorch 2.13.0, asked fp16, ran fp32)",
    );
    expect(page).toContain(
      '<p class="precision">Precision: asked fp16, ran fp32; the weighting is held to fp32&#39;s tolerance.</p>',
    );
    const asAsked = await renderCheckReport({ check: checkOf("fp16", {}), run: testRun("check") });
    expect(asAsked).not.toContain('class="precision"');
  });
});

describe("the built-in TensorFlow.js trainers", () => {
  it("run the precision asked (they emulate fp16 and bf16), so nothing is said and its tolerance holds", async () => {
    const reference = createTfjsTrainers().find((t) => t.name === "reference");
    if (!reference) throw new Error("expected the built-in reference trainer");
    for (const precision of ["fp16", "bf16"] as const) {
      const scenario = parseScenario({
        datasetSize: 10,
        batchSize: 2,
        accumulation: 2,
        model: "logistic",
        precision,
      });
      const check = await runCheck(reference, scenario);
      if (check.verdict === "error") throw new Error("expected the reference trainer to run");
      expect(check.trainerInfo?.precision).toBeUndefined();
      expect(check.properties.weighting.tolerance).toBe(TOLERANCES[precision].weight);
      expect(check.verdict).toBe("pass");
      expect(formatCheck(check).split("\n")[0]).not.toContain("asked");
      expect(checkJson(check).trainerInfo?.precision).toBe(precision);
    }
  });
});
