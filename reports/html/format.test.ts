import { describe, expect, it } from "vitest";
import {
  escapeHtml,
  formatChange,
  formatNumber,
  formatSampleRanges,
  formatWeight,
} from "./format.js";

describe("format", () => {
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
    expect(formatSampleRanges([104, 96, 97, 98, 99, 100, 101, 102, 103])).toBe("96–104");
    expect(formatSampleRanges([1, 3, 5, 7], 2)).toBe("1, 3 and 2 more ranges");
  });

  it("writes tiny numbers in exponent form and escapes markup", () => {
    expect(formatNumber(0.00001)).toBe("1e-5");
    expect(formatNumber(0.17307692)).toBe("0.1731");
    expect(escapeHtml(`<a href="x">'&'</a>`)).toBe(
      "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;",
    );
  });
});
