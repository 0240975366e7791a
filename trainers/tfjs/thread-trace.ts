import type { Trace } from "../contract/trace.js";

/**
 * A trace on its way from a TensorFlow.js thread: every array of numbers in it is a
 * Float64Array view of one buffer, which the message transfers instead of copying element by
 * element. Float64 holds every JavaScript number exactly (NaN, infinities and -0 included).
 */
export interface ThreadTrace {
  trace: unknown;
  buffer: ArrayBuffer;
}

function isNumberArray(value: unknown): value is number[] {
  return Array.isArray(value) && value.every((item) => typeof item === "number");
}

/** How many numbers the number arrays below `value` hold. */
function countNumbers(value: unknown): number {
  if (isNumberArray(value)) return value.length;
  if (Array.isArray(value))
    return value.reduce((total: number, item) => total + countNumbers(item), 0);
  if (value !== null && typeof value === "object")
    return Object.values(value).reduce((total: number, item) => total + countNumbers(item), 0);
  return 0;
}

/** Packs a trace for postMessage; transfer `buffer` with it. */
export function packTrace(trace: Trace): ThreadTrace {
  const numbers = new Float64Array(countNumbers(trace));
  let used = 0;
  const pack = (value: unknown): unknown => {
    if (isNumberArray(value)) {
      const view = numbers.subarray(used, used + value.length);
      for (let k = 0; k < value.length; k++) view[k] = value[k] as number;
      used += value.length;
      return view;
    }
    if (Array.isArray(value)) return value.map(pack);
    if (value !== null && typeof value === "object")
      return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, pack(item)]));
    return value;
  };
  return { trace: pack(trace), buffer: numbers.buffer };
}

/** The trace {@link packTrace} packed, its number arrays plain arrays again. */
export function unpackTrace(packed: ThreadTrace): Trace {
  const unpack = (value: unknown): unknown => {
    if (value instanceof Float64Array) {
      const numbers: number[] = new Array(value.length);
      for (let k = 0; k < value.length; k++) numbers[k] = value[k] as number;
      return numbers;
    }
    if (Array.isArray(value)) return value.map(unpack);
    if (value !== null && typeof value === "object")
      return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, unpack(item)]));
    return value;
  };
  return unpack(packed.trace) as Trace;
}
