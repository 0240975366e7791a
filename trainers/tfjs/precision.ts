import type { Precision } from "./types.js";

/** Largest finite IEEE 754 half-precision value. */
export const HALF_MAX = 65504;
/** Magnitudes at or beyond this round to infinity in half precision (the midpoint to 2^16, a tie that goes to even 2^16). */
const HALF_OVERFLOW = 65520;
/** Smallest exponent of a normal half-precision value; below it values are subnormal with spacing 2^-24. */
const HALF_MIN_EXPONENT = -14;
const HALF_MANTISSA_BITS = 10;

function roundHalfToEven(q: number): number {
  const floor = Math.floor(q);
  const rest = q - floor;
  if (rest > 0.5) return floor + 1;
  if (rest < 0.5) return floor;
  return floor % 2 === 0 ? floor : floor + 1;
}

/**
 * Rounds a number to the nearest IEEE 754 half-precision value (ties to even), as a float
 * would be stored in fp16: magnitudes of 65520 and beyond become +-Infinity, tiny values
 * become subnormal or signed zero, NaN stays NaN.
 */
export function roundToHalf(x: number): number {
  if (x === 0 || !Number.isFinite(x)) return x;
  const magnitude = Math.abs(x);
  const sign = x < 0 ? -1 : 1;
  if (magnitude >= HALF_OVERFLOW) return sign * Number.POSITIVE_INFINITY;
  let exponent = Math.floor(Math.log2(magnitude));
  if (2 ** exponent > magnitude) exponent -= 1;
  else if (2 ** (exponent + 1) <= magnitude) exponent += 1;
  const spacing = 2 ** (Math.max(exponent, HALF_MIN_EXPONENT) - HALF_MANTISSA_BITS);
  const rounded = roundHalfToEven(magnitude / spacing) * spacing;
  return rounded === 0 ? sign * 0 : sign * rounded;
}

const bits = new Uint32Array(1);
const asFloat = new Float32Array(bits.buffer);

/**
 * Rounds a number to the nearest bfloat16 value: first to float32, then round-to-nearest-even
 * on the float32 bits, keeping the top 16. Overflow gives +-Infinity, NaN stays NaN.
 */
export function roundToBfloat16(x: number): number {
  if (Number.isNaN(x)) return x;
  asFloat[0] = x;
  const word = bits[0] ?? 0;
  const lowestKept = (word >>> 16) & 1;
  bits[0] = ((word + 0x7fff + lowestKept) >>> 16) << 16;
  return asFloat[0] ?? 0;
}

/** The element-wise rounding a precision applies to each micro-batch's gradient; null for fp32. */
export function gradientRounding(precision: Precision): ((x: number) => number) | null {
  switch (precision) {
    case "fp32":
      return null;
    case "fp16":
      return roundToHalf;
    case "bf16":
      return roundToBfloat16;
  }
}
