import { z } from "zod";
import { describeIssues } from "../contract/scenario.js";
import {
  checkEntries,
  checkTraceIndices,
  isCount,
  type Trace,
  TraceError,
  traceSchema,
} from "../contract/trace.js";

/** The strings JSON carries non-finite floats as; JSON has no literal for them. */
const NON_FINITE = { NaN: Number.NaN, Infinity: Infinity, "-Infinity": -Infinity } as const;
type NonFiniteName = keyof typeof NON_FINITE;

/** A number array sent as little-endian bytes in base64 (docs/protocol.md, "Packed number arrays"). */
export const PackedArraySchema = z
  .object({ dtype: z.enum(["float64", "int32"]), base64: z.string() })
  .strict();
export type PackedArray = z.infer<typeof PackedArraySchema>;

const anyNumber = z.custom<number>((value) => typeof value === "number");

/** A float as JSON carries it, decoded to a number: a number, or "NaN" / "Infinity" / "-Infinity". */
export const WireFloat = z.codec(
  z.union([z.number(), z.enum(Object.keys(NON_FINITE) as [NonFiniteName, ...NonFiniteName[]])]),
  anyNumber,
  {
    decode: (value) => (typeof value === "number" ? value : NON_FINITE[value]),
    encode: (value) => {
      if (Number.isFinite(value)) return value;
      if (Number.isNaN(value)) return "NaN";
      return value > 0 ? "Infinity" : "-Infinity";
    },
  },
);

/** Packs numbers as little-endian float64. */
export function packFloat64(values: readonly number[]): PackedArray {
  const bytes = Buffer.alloc(values.length * 8);
  for (let i = 0; i < values.length; i++) bytes.writeDoubleLE(values[i] ?? 0, i * 8);
  return { dtype: "float64", base64: bytes.toString("base64") };
}

/** Packs rows of numbers, one after the other, as little-endian float64 (the rows are not flattened first). */
export function packFloat64Rows(rows: readonly (readonly number[])[]): PackedArray {
  const width = rows[0]?.length ?? 0;
  const bytes = Buffer.alloc(rows.length * width * 8);
  let offset = 0;
  for (const row of rows) {
    if (row.length !== width)
      throw new RangeError(`packFloat64Rows: expected rows of ${width} numbers, saw ${row.length}`);
    for (const value of row) offset = bytes.writeDoubleLE(value, offset);
  }
  return { dtype: "float64", base64: bytes.toString("base64") };
}

/** The numbers of a packed array; throws when the bytes are not a whole number of values. */
export function unpackArray(packed: PackedArray): number[] {
  const bytes = Buffer.from(packed.base64, "base64");
  const width = packed.dtype === "float64" ? 8 : 4;
  if (bytes.length % width !== 0)
    throw new Error(
      `packed ${packed.dtype} array: expected a multiple of ${width} bytes, saw ${bytes.length}`,
    );
  const values: number[] = new Array(bytes.length / width);
  for (let k = 0; k < values.length; k++)
    values[k] = packed.dtype === "float64" ? bytes.readDoubleLE(k * 8) : bytes.readInt32LE(k * 4);
  return values;
}

/** A packed array decoded to numbers, or its bytes named as the issue. */
function packedNumbers(dtype: PackedArray["dtype"]) {
  return z.codec(
    PackedArraySchema.refine((p) => p.dtype === dtype),
    // unpackArray only makes numbers: the output is not checked entry by entry again.
    z.custom<number[]>((value) => Array.isArray(value)),
    {
      decode: (packed, context) => {
        try {
          return unpackArray(packed);
        } catch (error) {
          context.issues.push({
            code: "custom",
            input: packed,
            message: error instanceof Error ? error.message : String(error),
          });
          return z.NEVER;
        }
      },
      encode: (values) =>
        dtype === "float64"
          ? packFloat64(values)
          : {
              dtype,
              base64: Buffer.from(Int32Array.from(values).buffer).toString("base64"),
            },
    },
  );
}

/** A float array on the wire: packed float64, or plain wire floats. */
export const WireFloats = z.union([packedNumbers("float64"), z.array(WireFloat)]);
/** A count array on the wire: packed int32, or plain non-negative whole numbers. */
export const WireCounts = z
  .union([packedNumbers("int32"), z.array(z.number())])
  .superRefine((values, context) =>
    checkEntries(values, isCount, "a non-negative whole number", context),
  );

/** The trace as JSON carries it (docs/trace-format.md), decoding to the in-memory {@link Trace}. */
export const WireTraceSchema = traceSchema({ floats: WireFloats, counts: WireCounts });

/**
 * Decodes a trace that crossed a process boundary (parsed JSON, arrays plain or packed, non-finite
 * floats as strings) into the in-memory trace of plain numbers; throws {@link TraceError} naming
 * the bad field. Past this point no value is a wire encoding.
 */
export function decodeWireTrace(input: unknown): Trace {
  const decoded = WireTraceSchema.safeDecode(input as z.input<typeof WireTraceSchema>);
  if (!decoded.success) throw new TraceError(`invalid trace: ${describeIssues(decoded.error)}`);
  return checkTraceIndices(decoded.data);
}
