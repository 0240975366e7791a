import { PassThrough } from "node:stream";
import { parse as parseJunit } from "junit2json";
import { beforeAll, describe, expect, it } from "vitest";
import type { TrainerAuditOutcome } from "../properties/outcome.js";
import { passingCheck, testRun } from "../test/support/outcomes.js";
import {
  tokenAuditFixture,
  tokenCounterexampleCheck,
  tokenTwoLoopCheck,
} from "../test/support/token-outcomes.js";
import { adviceFor } from "./advice.js";
import { checkJson, JsonReporter } from "./json.js";
import { renderJunit } from "./junit.js";
import type { RunStart } from "./reporter.js";
import { formatAuditSummary, formatCheck, formatTrainerAudit } from "./text.js";
import { scenarioLabel, scenarioShape } from "./words.js";

let audits: TrainerAuditOutcome[];
let run: RunStart;

beforeAll(async () => {
  ({ audits, run } = await tokenAuditFixture());
});

const docsLoop = () => {
  const audit = audits.find((a) => a.trainer === "docs-loop");
  if (audit?.search.kind !== "refuted") throw new Error("expected docs-loop refuted under tokens");
  return { audit, counterexample: audit.search.counterexample };
};

describe("every output names the weighting checked", () => {
  it("text: a weighting line, the scenario's loss tokens and n_i/T_W in the weighting line", () => {
    const lines = formatCheck(tokenCounterexampleCheck()).split("\n");
    expect(lines[0]).toBe(
      "FAIL  docs-loop  N 2 · B 1 · K 2 · 1 epoch · weighting tokens · loss tokens 1,2",
    );
    expect(lines[1]).toBe(
      "  weighting: loss tokens (each loss token counts the same); loss tokens per sample: 1, 2",
    );
    expect(lines[3]).toMatch(
      /^ {2}✗ weighting {2}step 1 \(epoch 1\) gave sample 0 of epoch 1 \(1 loss token\) weight 1\/2; token weighting gives it 1\/3 \(1 of its window's 3 loss tokens\)/,
    );
    expect(lines[3]).toContain(
      "micro-batch 1 holds 1 sample with 1 loss token, micro-batch 2 holds 1 sample with 2 loss tokens",
    );
    expect(formatCheck(passingCheck()).split("\n")[1]).toBe(
      "  weighting: samples (each sample counts the same)",
    );
  });

  it("text: a token-weighted audit's counterexample replays with its weighting and loss tokens, and the summary names the weighting", () => {
    const { audit, counterexample } = docsLoop();
    const scenario = counterexample.check.scenario;
    expect(scenario.weighting).toBe("tokens");
    const text = formatTrainerAudit(audit, run.replay);
    expect(text).toContain("  weighting: loss tokens (each loss token counts the same)");
    const replay = text.split("\n").find((line) => line.startsWith("  replay: "));
    expect(replay).toContain(" --weighting tokens --lengths ");
    expect(replay).toContain(
      `--lengths ${(Array.isArray(scenario.lengths) ? scenario.lengths : []).join(",")}`,
    );
    expect(text).toContain(`${scenarioShape(audit.regressions[0]?.scenario ?? scenario)}: `);
    expect(text).toContain("110/8/4 x2 tokens 1-8: FAIL");
    expect(formatAuditSummary(audits, run.meta)).toBe(
      "2 trainers: 1 holds every property, 1 fails; weighting: loss tokens (each loss token counts the same)",
    );
    expect(formatAuditSummary(audits)).toBe("2 trainers: 1 holds every property, 1 fails");
  });

  it("JSON: weighting and loss tokens at the check level, the legacy fields unchanged", () => {
    const check = tokenTwoLoopCheck();
    const json = checkJson(check);
    expect(json).toMatchObject({
      trainer: "two-loop",
      scenario: check.scenario,
      verdict: "fail",
      weighting: "tokens",
      lossTokens: [3, 1, 0, 2, 3, 1, 0],
    });
    if (!json.properties) throw new Error("expected a judged check");
    expect(json.properties.weighting.ok).toBe(false);
    expect(json.properties.weighting.message).toContain("2 of its window's 6 loss tokens");
    const finding = json.properties.weighting.findings[0];
    expect(finding?.kind === "step-weights" && finding.microBatches).toEqual([
      { rank: 0, position: 0, samples: 2, units: 4 },
      { rank: 0, position: 1, samples: 2, units: 2 },
    ]);
    expect(json.advice.map((a) => a.id)).toEqual(["micro-batch-mean"]);
    const samples = checkJson(passingCheck());
    expect(samples.weighting).toBe("samples");
    expect("lossTokens" in samples).toBe(false);
  });

  it("JSON: the audit document names the weighting at the top", () => {
    const out = new PassThrough();
    let text = "";
    out.on("data", (chunk) => {
      text += String(chunk);
    });
    const reporter = new JsonReporter(out);
    reporter.onRunStart(run);
    for (const audit of audits) reporter.onTrainerEnd(audit);
    reporter.onRunEnd({ audits });
    const document = JSON.parse(text) as { weighting: string; trainers: unknown[] };
    expect(document.weighting).toBe("tokens");
    expect(document.trainers).toHaveLength(2);
    const { counterexample } = docsLoop();
    expect(checkJson(counterexample.check).weighting).toBe("tokens");
  });

  it("JUnit: the suite names the weighting, testcases name the loss tokens, a failure says n_i/T_W", async () => {
    const check = tokenCounterexampleCheck();
    const xml = renderJunit({ run: testRun("check"), audits: [], check });
    const parsed = await parseJunit(xml);
    const suite = parsed && "testsuite" in parsed ? parsed.testsuite?.[0] : undefined;
    expect(suite?.properties).toContainEqual({
      name: "weighting",
      value: "loss tokens (each loss token counts the same)",
    });
    const weighting = suite?.testcase?.find((c) => c.name?.startsWith("weighting on "));
    expect(weighting?.name).toBe(`weighting on ${scenarioLabel(check.scenario)}`);
    expect(weighting?.name).toContain("weighting tokens · loss tokens 1,2");
    expect(weighting?.failure?.[0]?.message).toContain(
      "token weighting gives it 1/3 (1 of its window's 3 loss tokens)",
    );
    expect(weighting?.failure?.[0]?.inner).toContain("--weighting tokens --lengths 1,2");
    const audit = await parseJunit(renderJunit({ run, audits }));
    const suites = audit && "testsuite" in audit ? (audit.testsuite ?? []) : [];
    expect(suites.map((s) => s.properties?.find((p) => p.name === "weighting")?.value)).toEqual([
      "loss tokens (each loss token counts the same)",
      "loss tokens (each loss token counts the same)",
    ]);
  });

  it("advice: divide by the window's loss tokens; with the HF Trainer take num_items_in_batch", () => {
    const [advice] = adviceFor(tokenCounterexampleCheck());
    expect(advice?.id).toBe("micro-batch-mean");
    expect(advice?.cause).toContain("the mean over its own loss tokens");
    expect(advice?.change).toContain("divide by the window's loss-token count");
    expect(advice?.change).toContain("num_items_in_batch");
    expect(advice?.change).toContain("python:hf-trainer-items");
    expect(advice?.snippet.code).toContain('(b["labels"][..., 1:] != -100).sum()');
    expect(advice?.reference).toBe("trainers/python/accumaudit_probe/loops/token_reference.py");
    const hf = adviceFor({
      ...tokenCounterexampleCheck(),
      trainerInfo: { name: "python:hf-trainer", framework: "transformers" },
    });
    expect(hf[0]?.framework?.cause).toContain(
      "let the model take num_items_in_batch, the window's loss tokens counted over every rank",
    );
  });
});
