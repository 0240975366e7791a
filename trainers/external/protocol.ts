import { z } from "zod";

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
