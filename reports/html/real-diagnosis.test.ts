import { describe, expect, it } from "vitest";
import { diagnoseTrace } from "../../properties/diagnose.js";
import { makeDataset } from "../../trainers/contract/probe.js";
import { simulateTrace } from "./fixtures.js";
import { explainCheck, renderCheckReport } from "./index.js";

/** The renderer on the real oracle's diagnoses of the fixture traces, not the fixtures' own. */
describe("reports on properties/diagnoseTrace output", () => {
  const meta = { harnessVersion: "test", date: "2026-11-25", backend: "cpu", precision: "fp32" };

  it("explains two-loop's over-weighted last micro-batch", async () => {
    const trace = simulateTrace(
      { datasetSize: 1000, batchSize: 128, accumulation: 4, model: "logistic" },
      "two-loop",
    );
    const diagnosis = diagnoseTrace(trace, makeDataset(trace.scenario));
    expect(explainCheck(diagnosis)).toContain(
      "104 samples (896–999) got weight 1/416 where sample-count weighting gives 1/488, so their update was 17.3% bigger",
    );
    const html = await renderCheckReport({ diagnosis, meta });
    expect(html.match(/<figure /g)).toHaveLength(2);
    expect(html).toContain("body tolerance");
  });

  it("explains docs-loop's leaked and lost tail", async () => {
    const trace = simulateTrace(
      { datasetSize: 110, batchSize: 8, accumulation: 4, epochs: 2 },
      "docs-loop",
    );
    const diagnosis = diagnoseTrace(trace, makeDataset(trace.scenario));
    const text = explainCheck(diagnosis);
    expect(text).toContain("Epoch 1: 14 samples (96–109) leaked into step 4 (epoch 2)");
    expect(text).toContain("Epoch 2: 14 samples (96–109) were lost");
    const html = await renderCheckReport({ diagnosis, meta });
    expect(html).toContain("14 occurrences leaked into a later epoch");
  });
});
