import { z } from "zod";
import type { RunProgress } from "../contract/trainer.js";

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
  /**
   * The prefix of the line the worker writes to stderr, with the request's id, right before each
   * answer: once the client has read it, it has read everything the request printed.
   */
  stderrSync: z.string().min(1).optional(),
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
    /** The step-semantics fields the trainer honours (absent: every one). */
    stepFields: z.array(z.string()).optional(),
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

const count = z.number().int().min(0);

/**
 * Where a run stands, sent by a worker while the run trains when the request asks
 * (`"progress": true`): see {@link RunProgress} (trainers/contract/trainer.ts).
 */
export const ProgressMessageSchema = z.discriminatedUnion("sampling", [
  z.looseObject({
    type: z.literal("progress"),
    id: RequestIdSchema,
    sampling: z.literal("epochs"),
    epoch: count,
    epochs: count,
    microBatch: count,
    microBatches: count,
    steps: count,
  }),
  z.looseObject({
    type: z.literal("progress"),
    id: RequestIdSchema,
    sampling: z.literal("replacement"),
    microBatch: count,
    microBatches: count,
    steps: count,
    totalSteps: count,
  }),
]);
export type ProgressMessage = z.infer<typeof ProgressMessageSchema>;

/** Whether a message read from a worker is a progress message (its fields not yet checked). */
export function isProgressMessage(value: unknown): boolean {
  return (
    typeof value === "object" && value !== null && "type" in value && value.type === "progress"
  );
}

/** The progress a message carries, without its wire fields. */
export function runProgress(message: ProgressMessage): RunProgress {
  const { microBatch, microBatches, steps } = message;
  return message.sampling === "epochs"
    ? {
        sampling: "epochs",
        epoch: message.epoch,
        epochs: message.epochs,
        microBatch,
        microBatches,
        steps,
      }
    : { sampling: "replacement", microBatch, microBatches, steps, totalSteps: message.totalSteps };
}
