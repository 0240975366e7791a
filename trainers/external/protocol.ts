import { z } from "zod";
import { toWireFloat } from "../contract/trace.js";

/** Version of the worker protocol (docs/protocol.md) this client speaks. */
export const PROTOCOL_VERSION = 1;

/** First line a worker sends: its protocol version, trainers and framework versions. */
export const HelloSchema = z.looseObject({
  type: z.literal("hello"),
  protocol: z.number(),
  trainers: z.array(z.string()),
  frameworks: z.record(z.string(), z.string()),
  adaptersError: z.string().optional(),
});
export type Hello = z.infer<typeof HelloSchema>;

const RequestIdSchema = z.union([z.number(), z.string(), z.null()]);

/** A worker's answer to a run request: the trace (still packed) or a one-line error. */
export const ResponseSchema = z.discriminatedUnion("type", [
  z.looseObject({ type: z.literal("trace"), id: RequestIdSchema, trace: z.unknown() }),
  z.looseObject({ type: z.literal("error"), id: RequestIdSchema, message: z.string() }),
]);
export type Response = z.infer<typeof ResponseSchema>;

/** A number array sent as little-endian bytes in base64. */
export const PackedArraySchema = z
  .object({ dtype: z.enum(["float64", "int32"]), base64: z.string() })
  .strict();
export type PackedArray = z.infer<typeof PackedArraySchema>;

/** Packs numbers as little-endian float64 for a request. */
export function packFloat64(values: readonly number[]): PackedArray {
  const bytes = Buffer.alloc(values.length * 8);
  values.forEach((value, i) => {
    bytes.writeDoubleLE(value, i * 8);
  });
  return { dtype: "float64", base64: bytes.toString("base64") };
}

/** The numbers of a packed array; float64 values come back as wire floats (non-finite as strings). */
export function unpackArray(packed: PackedArray): Array<number | string> {
  const bytes = Buffer.from(packed.base64, "base64");
  const width = packed.dtype === "float64" ? 8 : 4;
  if (bytes.length % width !== 0)
    throw new Error(
      `packed ${packed.dtype} array: expected a multiple of ${width} bytes, saw ${bytes.length}`,
    );
  const values: Array<number | string> = [];
  for (let offset = 0; offset < bytes.length; offset += width)
    values.push(
      packed.dtype === "float64"
        ? toWireFloat(bytes.readDoubleLE(offset))
        : bytes.readInt32LE(offset),
    );
  return values;
}

/** Replaces every packed array inside a message by its plain array, ready for schema validation. */
export function unpackMessage(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(unpackMessage);
  if (value === null || typeof value !== "object") return value;
  const packed = PackedArraySchema.safeParse(value);
  if (packed.success) return unpackArray(packed.data);
  return Object.fromEntries(
    Object.entries(value).map(([key, inner]) => [key, unpackMessage(inner)]),
  );
}
