import { describe, expect, it } from "vitest";
import { HALF_MAX, roundToBfloat16, roundToHalf } from "./precision.js";

describe("roundToHalf", () => {
  it("keeps values half precision represents exactly", () => {
    for (const v of [0, 1, -1, 0.5, 2048, 1 / 1024, HALF_MAX, -HALF_MAX, 2 ** -24, 2 ** -14, 1.5])
      expect(roundToHalf(v)).toBe(v);
  });

  it("rounds to the nearest value with 11 significant bits, ties to even", () => {
    expect(roundToHalf(1 + 2 ** -11)).toBe(1); // tie, 1 is even
    expect(roundToHalf(1 + 3 * 2 ** -11)).toBe(1 + 2 ** -9); // tie, goes up to even
    expect(roundToHalf(1 + 2 ** -11 + 2 ** -20)).toBe(1 + 2 ** -10);
    expect(roundToHalf(2049)).toBe(2048);
    expect(roundToHalf(2051)).toBe(2052);
    expect(roundToHalf(1 / 3)).toBeCloseTo(0.333251953125, 12);
    expect(roundToHalf(-1 / 24)).toBe(-0.041656494140625);
  });

  it("overflows to infinity from 65520 on, like a float16 cast", () => {
    expect(roundToHalf(65519.99)).toBe(HALF_MAX);
    expect(roundToHalf(65520)).toBe(Number.POSITIVE_INFINITY);
    expect(roundToHalf(65536)).toBe(Number.POSITIVE_INFINITY);
    expect(roundToHalf(-1e6)).toBe(Number.NEGATIVE_INFINITY);
  });

  it("rounds into the subnormal range with spacing 2^-24", () => {
    expect(roundToHalf(3 * 2 ** -25)).toBe(2 ** -23); // tie 1.5 ulp goes to 2 ulp
    expect(roundToHalf(2 ** -26)).toBe(0);
    expect(Object.is(roundToHalf(-(2 ** -26)), -0)).toBe(true);
  });

  it("passes NaN and infinities through", () => {
    expect(roundToHalf(Number.NaN)).toBeNaN();
    expect(roundToHalf(Number.NEGATIVE_INFINITY)).toBe(Number.NEGATIVE_INFINITY);
  });
});

describe("roundToBfloat16", () => {
  it("keeps 8 significant bits, ties to even", () => {
    expect(roundToBfloat16(1)).toBe(1);
    expect(roundToBfloat16(1 + 2 ** -8)).toBe(1); // tie, 1 is even
    expect(roundToBfloat16(1 + 3 * 2 ** -8)).toBe(1 + 2 ** -6); // tie, up to even
    expect(roundToBfloat16(1 + 2 ** -8 + 2 ** -12)).toBe(1 + 2 ** -7);
    expect(roundToBfloat16(1 / 24)).toBe(0.041748046875);
    expect(roundToBfloat16(-3)).toBe(-3);
  });

  it("has float32's range: large values stay finite, the top overflows", () => {
    expect(roundToBfloat16(65536 * 4)).toBe(262144);
    expect(roundToBfloat16(3.4e38)).toBe(Number.POSITIVE_INFINITY);
    expect(roundToBfloat16(Number.NaN)).toBeNaN();
  });
});
