import { describe, expect, it } from "vitest";
import { auditFixture } from "../test/support/outcomes.js";
import { parseScenario } from "../trainers/contract/scenario.js";
import { codeReplay, explainAudit } from "./explain-audit.js";

describe("explainAudit", () => {
  it("writes a replay as runCheck on the scenario's fields that differ from their defaults", () => {
    const scenario = parseScenario({
      datasetSize: 110,
      batchSize: 8,
      accumulation: 4,
      epochs: 2,
      model: "logistic",
    });
    expect(codeReplay("my-loop", scenario)).toBe(
      'runCheck(trainer, parseScenario({ datasetSize: 110, batchSize: 8, accumulation: 4, epochs: 2, model: "logistic" }))',
    );
  });

  it("explains a refuted audit with code to replay it and the advice that fixes it", async () => {
    const { audits } = await auditFixture();
    const docsLoop = audits.find((a) => a.trainer === "docs-loop");
    if (docsLoop?.search.kind !== "refuted") throw new Error("expected docs-loop refuted");
    const text = explainAudit(docsLoop);
    const { seed, path } = docsLoop.search.counterexample;
    expect(text).toMatch(/^FAIL {2}docs-loop/);
    expect(text).toContain("  replay: runCheck(trainer, parseScenario({ datasetSize: ");
    expect(text).toContain(
      `  search replay: auditTrainer(trainer, { ...options, seed: ${seed}, path: "${path}" })`,
    );
    expect(text).toContain("how to fix it:");
    expect(text).not.toContain("accumaudit check");
  });
});
