import { describe, expect, it } from "vitest";
import { sampleSet } from "../properties/sample-set.js";
import { escapeHtml } from "./html/escape.js";
import {
  formatChange,
  formatNumber,
  formatSampleSet,
  formatWeight,
  plural,
  positionRange,
  wasWere,
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
});
