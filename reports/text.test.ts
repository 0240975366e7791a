import { describe, expect, it } from "vitest";
import { judgeLoop, noStepCheck } from "../test/support/outcomes.js";
import { formatCheck } from "./text.js";

describe("formatCheck", () => {
  it("ends a failing check with how to fix it: cause, evidence, change, the snippet once, the loop to copy", () => {
    const text = formatCheck(
      judgeLoop({ datasetSize: 110, batchSize: 8, accumulation: 4, epochs: 2 }, "docs-loop"),
    );
    const fix = text.slice(text.indexOf("  how to fix it:"));
    expect(fix).toMatch(
      /^ {2}how to fix it:\n {4}- The epoch's last window never stepped in its epoch: .*\n {6}Evidence: window 4 of epoch 1 \(micro-batches 13–14, 14 samples\) never stepped in its epoch: step 4 applied it/,
    );
    expect(fix).toContain("      Change: Step after the epoch's last micro-batch too");
    expect(fix.match(/optimizer\.zero_grad\(\)/g)).toHaveLength(1);
    expect(fix.trimEnd().split("\n").at(-1)).toBe(
      "    The loop to copy: trainers/python/accumaudit_probe/loops/reference.py",
    );
  });

  it("marks weighting not applicable when no step applied a weight, and a passing check gives no advice", () => {
    const text = formatCheck(noStepCheck());
    expect(text).toContain("  – weighting  not applicable: no step applied any weight");
    const pass = formatCheck(
      judgeLoop({ datasetSize: 4, batchSize: 2, accumulation: 2 }, "reference"),
    );
    expect(pass).not.toContain("how to fix it");
  });
});
