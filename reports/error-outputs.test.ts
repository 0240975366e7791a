import { describe, expect, it } from "vitest";
import type { CheckOutcome } from "../properties/outcome.js";
import { auditFixture, MISSING_FRAMEWORK, testRun } from "../test/support/outcomes.js";
import { parseScenario } from "../trainers/contract/scenario.js";
import { renderCheckReport } from "./html/index.js";
import { checkJson, trainerAuditJson } from "./json.js";
import { formatAuditSummary, formatCheck, formatTrainerAudit } from "./text.js";

/** A user's Python trainer that printed a line, then raised in a helper of its own. */
const failedInUserCode: CheckOutcome = {
  trainer: "python:my_loop:train",
  scenario: parseScenario({ datasetSize: 110, batchSize: 8, accumulation: 4, epochs: 2 }),
  verdict: "error",
  error: {
    kind: "trainer",
    message: "python:my_loop:train: worker: KeyError: 'labels' (my_loop.py:19 in labels_of)",
    traceback: [
      { file: "/home/me/my_loop.py", line: 15, function: "train", code: "labels_of(batch)" },
      {
        file: "/home/me/my_loop.py",
        line: 19,
        function: "labels_of",
        code: 'return batch["labels"]',
      },
    ],
    output: ["loading 110 samples", "epoch 1 <started>"],
  },
  durationMs: 12,
};

describe("an error in the user's code", () => {
  it("lists the user's frames, outermost first, in the text output", () => {
    expect(formatCheck(failedInUserCode).split("\n")).toEqual([
      "ERROR  python:my_loop:train  N 110 · B 8 · K 4 · 2 epochs",
      "  error: python:my_loop:train: worker: KeyError: 'labels' (my_loop.py:19 in labels_of)",
      "  in your code (outermost first):",
      "    /home/me/my_loop.py:15 in train: labels_of(batch)",
      '    /home/me/my_loop.py:19 in labels_of: return batch["labels"]',
    ]);
  });

  it("carries traceback and output in the JSON", () => {
    const json = checkJson(failedInUserCode);
    expect(json).toMatchObject({
      verdict: "error",
      properties: null,
      error: "python:my_loop:train: worker: KeyError: 'labels' (my_loop.py:19 in labels_of)",
      traceback: [
        { function: "train", line: 15 },
        { function: "labels_of", line: 19 },
      ],
      output: ["loading 110 samples", "epoch 1 <started>"],
    });
  });

  it("shows the frames and the last printed lines, escaped, in the HTML report", async () => {
    const html = await renderCheckReport({ check: failedInUserCode, run: testRun("check") });
    expect(html).toContain("<p>In your code, outermost first:</p>");
    expect(html).toContain("/home/me/my_loop.py:19 in labels_of: return batch[&quot;labels&quot;]");
    expect(html).toContain("<p>The last lines the trainer printed:</p>");
    expect(html).toContain("loading 110 samples\nepoch 1 &lt;started&gt;");
  });
});

describe("a trainer that could not be checked", () => {
  it("reads as could not be checked, never as a counterexample, in text and JSON", async () => {
    const { audits, run } = await auditFixture();
    const missing = audits.find((a) => a.verdict === "error");
    if (!missing) throw new Error("expected the fixture's missing framework");
    const text = formatTrainerAudit(missing, run.replay);
    expect(text.split("\n")[0]).toBe(
      `ERROR  python:accelerate: could not be checked (case 1 of the search): ${MISSING_FRAMEWORK}`,
    );
    expect(text).not.toMatch(/shrunk|counterexample/);
    expect(
      text.match(new RegExp(MISSING_FRAMEWORK.replace(/[.*+?^${}()|[\]\\]/g, "\\$&"), "g")),
    ).toHaveLength(1);
    expect(formatAuditSummary(audits)).toBe(
      "5 trainers: 2 hold every property, 2 fail, 1 could not be checked",
    );
    const json = trainerAuditJson(missing, run.replay);
    expect(json).toMatchObject({
      verdict: "error",
      counterexample: null,
      error: MISSING_FRAMEWORK,
    });
    expect(json.errorCase?.replay).toMatch(/^accumaudit check --trainer python:accelerate /);
  });
});
