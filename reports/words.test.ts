import { describe, expect, it } from "vitest";
import { sampleSet } from "../properties/sample-set.js";
import { parseScenario } from "../trainers/contract/scenario.js";
import { escapeHtml } from "./html/escape.js";
import {
  formatChange,
  formatCounts,
  formatList,
  formatNumber,
  formatSampleSet,
  formatShare,
  formatWeight,
  plural,
  positionRange,
  runWeightings,
  scenarioLabel,
  scenarioShape,
  wasWere,
  weightingsText,
} from "./words.js";

describe("words", () => {
  it("writes reciprocal weights as fractions and others as numbers", () => {
    expect(formatWeight(1 / 416)).toBe("1/416");
    expect(formatWeight(1 / 24)).toBe("1/24");
    expect(formatWeight(0.3)).toBe("0.3");
    expect(formatWeight(Number.NaN)).toBe("NaN");
  });

  it("says how much bigger or smaller an update was", () => {
    expect(formatChange(1 / 416, 1 / 488)).toBe("17.3% bigger");
    expect(formatChange(1 / 512, 1 / 488)).toBe("4.7% smaller");
    expect(formatChange(1 / 14, 1 / 14)).toBe("the same");
  });

  it("writes sample ids as ranges and cuts long lists", () => {
    expect(formatSampleSet(sampleSet([104, 96, 97, 98, 99, 100, 101, 102, 103]))).toBe("96–104");
    expect(formatSampleSet(sampleSet([1, 3, 5, 7]), 2)).toBe("1, 3 and 2 more");
    expect(formatSampleSet(sampleSet([0, 1, 2, 10, 20, 21, 22, 23]), 1)).toBe("0–2 and 5 more");
    // A set that keeps fewer ranges than it holds ids still counts every id.
    expect(formatSampleSet({ count: 10, ranges: [[0, 1]] })).toBe("0–1 and 8 more");
  });

  it("writes tiny numbers in exponent form and escapes markup", () => {
    expect(formatNumber(0.00001)).toBe("1e-5");
    expect(formatNumber(0.17307692)).toBe("0.1731");
    expect(escapeHtml(`<a href="x">'&'</a>`)).toBe(
      "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;",
    );
  });

  it("agrees counts with nouns and verbs", () => {
    expect(plural(1, "sample")).toBe("1 sample");
    expect(plural(0, "step")).toBe("0 steps");
    expect(plural(10_000, "sample")).toBe("10,000 samples");
    expect(plural(1, "micro-batch", "micro-batches")).toBe("1 micro-batch");
    expect(plural(2, "micro-batch", "micro-batches")).toBe("2 micro-batches");
    expect(`${plural(1, "sample")} ${wasWere(1)} lost`).toBe("1 sample was lost");
    expect(`${plural(0, "sample")} ${wasWere(0)} lost`).toBe("0 samples were lost");
  });

  it("names one position alone and several as a range numbered from 1", () => {
    expect(positionRange(0, 0, "micro-batch", "micro-batches")).toBe("micro-batch 1");
    expect(positionRange(12, 13, "micro-batch", "micro-batches")).toBe("micro-batches 13–14");
  });

  it("writes a token share as n/T and cuts long lists of counts", () => {
    expect(formatShare(2, 2 / 3)).toBe("2/3");
    expect(formatShare(3, 3 / 58)).toBe("3/58");
    expect(formatShare(1, 1 / 3)).toBe("1/3");
    expect(formatShare(0, 0)).toBe("0");
    expect(formatCounts([3, 1, 2])).toBe("3, 1, 2");
    expect(formatCounts([1, 2, 3, 4, 5], 2, ",")).toBe("1,2 and 3 more");
    expect(formatList(["1/3"])).toBe("1/3");
    expect(formatList(["1/3", "2/3"])).toBe("1/3 and 2/3");
    expect(formatList(["a", "b", "c", "d", "e"], 3)).toBe("a, b, c and 2 more");
  });

  it("labels a token-weighted scenario with its weighting and loss tokens, a sample-weighted one as before", () => {
    const tokens = parseScenario({
      datasetSize: 2,
      batchSize: 1,
      accumulation: 2,
      weighting: "tokens",
      lengths: [1, 2],
    });
    expect(scenarioLabel(tokens)).toBe(
      "N 2 · B 1 · K 2 · 1 epoch · weighting tokens · loss tokens 1,2",
    );
    expect(scenarioShape(tokens)).toBe("2/1/2 x1 tokens 1,2");
    const drawn = parseScenario({ ...tokens, lengths: undefined });
    expect(scenarioLabel(drawn)).toContain("· loss tokens 1-8");
    const samples = parseScenario({ datasetSize: 110, batchSize: 8, accumulation: 4 });
    expect(scenarioLabel(samples)).toBe("N 110 · B 8 · K 4 · 1 epoch");
    expect(scenarioShape(samples)).toBe("110/8/4 x1");
  });

  it("names the weightings of a run from its metadata, else from its checks", () => {
    expect(runWeightings({ weighting: "tokens, samples" }, [])).toEqual(["samples", "tokens"]);
    expect(runWeightings({}, [])).toEqual([]);
    expect(weightingsText(["samples"])).toBe("samples (each sample counts the same)");
    expect(weightingsText(["samples", "tokens"])).toBe("samples and loss tokens");
  });
});
