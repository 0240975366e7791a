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
  /** Registered trainers that run data-parallel (world size above 1). */
  distributed: z.array(z.string()).optional(),
});
export type Hello = z.infer<typeof HelloSchema>;

const RequestIdSchema = z.union([z.number(), z.string(), z.null()]);

/**
 * A worker's answer to a request: the trace of a run (still packed), the description of a
 * trainer (the largest world size it runs), or a one-line error.
 */
export const ResponseSchema = z.discriminatedUnion("type", [
  z.looseObject({ type: z.literal("trace"), id: RequestIdSchema, trace: z.unknown() }),
  z.looseObject({
    type: z.literal("description"),
    id: RequestIdSchema,
    trainer: z.string(),
    maxWorldSize: z.number().int().min(1),
  }),
  z.looseObject({
    type: z.literal("error"),
    id: RequestIdSchema,
    message: z.string(),
    /** The frames of the trainer's own code the exception passed through, outermost first. */
    traceback: z
      .array(
        z.looseObject({
          file: z.string(),
          line: z.number().int(),
          function: z.string(),
          code: z.string(),
        }),
      )
      .optional(),
  }),
]);
export type WorkerResponse = z.infer<typeof ResponseSchema>;
