import { z } from "zod";
import { describeIssues, PRECISIONS, ScenarioSchema } from "./scenario.js";

/** Version of the trace format this harness reads and writes. */
export const TRACE_VERSION = 1;

/**
 * A float that survives JSON: a number, or "NaN" / "Infinity" / "-Infinity" as strings,
 * since JSON has no literal for them.
 */
export const WireFloatSchema = z.union([z.number(), z.enum(["NaN", "Infinity", "-Infinity"])]);
export type WireFloat = z.infer<typeof WireFloatSchema>;

const count = z.number().int().min(0);

/**
 * The fingerprint part of an applied gradient, sparse: entry k says that the step gave
 * sample `samples[k]`'s epoch-`epochs[k]` occurrence the weight `weights[k]`
 * (the gradient of phi[epoch][sample] divided by the fingerprint coefficient).
 * Entries with weight exactly 0 may be left out.
 */
export const FingerprintGradientSchema = z
  .object({
    epochs: z.array(count),
    samples: z.array(count),
    weights: z.array(WireFloatSchema),
  })
  .strict()
  .refine((f) => f.epochs.length === f.samples.length && f.samples.length === f.weights.length, {
    message: "epochs, samples and weights must have the same length",
  });

/** The body part of a step: parameters before the step and the gradient the optimizer applied. */
export const BodyStepSchema = z
  .object({
    parametersBefore: z.array(WireFloatSchema),
    gradient: z.array(WireFloatSchema),
  })
  .strict()
  .refine((b) => b.parametersBefore.length === b.gradient.length, {
    message: "parametersBefore and gradient must have the same length",
  });

/** One call of the optimizer's step, applied or skipped. */
export const StepSchema = z
  .object({
    /** 0-based epoch during which the step was taken. */
    epoch: count,
    /** True when the step applied nothing (mixed precision found inf/nan after loss scaling). */
    skipped: z.boolean(),
    /** Applied fingerprint gradient; empty for a skipped step. */
    fingerprint: FingerprintGradientSchema,
    /** Applied body gradient; null for the fingerprint-only model or a skipped step. */
    body: BodyStepSchema.nullable(),
    /** Loss scale in force at the step, when the trainer scales the loss. */
    lossScale: z.number().positive().optional(),
  })
  .strict();

/** One forward pass of a micro-batch through the probe model, as the probe observed it. */
export const MicroBatchSchema = z
  .object({
    /** Epoch tag the probe model carried during the forward pass (0-based). */
    epoch: count,
    /** Sample ids in the micro-batch, in loader order. */
    samples: z.array(count),
    /** Number of optimizer steps (applied or skipped) recorded before this forward pass. */
    stepsBefore: count,
  })
  .strict();

/** Who produced the trace. */
export const TrainerInfoSchema = z
  .object({
    name: z.string().min(1),
    framework: z.string().optional(),
    frameworkVersion: z.string().optional(),
    backend: z.string().optional(),
    device: z.string().optional(),
    /**
     * The precision the trainer really ran, when it knows it differs from the scenario's (a
     * framework that quietly trains fp16 as fp32 or bf16). The looser tolerance of the two holds.
     */
    precision: z.enum(PRECISIONS).optional(),
  })
  .strict();

/** The record of one run of one trainer on one scenario. See docs/trace-format.md. */
export const TraceSchema = z
  .object({
    format: z.literal("accumaudit-trace"),
    version: z.literal(TRACE_VERSION),
    trainer: TrainerInfoSchema,
    scenario: ScenarioSchema,
    steps: z.array(StepSchema),
    /** Forward passes in the order they happened; absent when the trainer cannot observe them. */
    microBatches: z.array(MicroBatchSchema).optional(),
  })
  .strict();

export type Trace = z.output<typeof TraceSchema>;
export type Step = z.output<typeof StepSchema>;
export type MicroBatch = z.output<typeof MicroBatchSchema>;
export type FingerprintGradient = z.output<typeof FingerprintGradientSchema>;
export type TrainerInfo = z.output<typeof TrainerInfoSchema>;

/** A trace that failed validation; the message names the path of the bad field. */
export class TraceError extends Error {
  override name = "TraceError";
}

/** Validates a trace (for example one read from another process); throws {@link TraceError}. */
export function parseTrace(input: unknown): Trace {
  const parsed = TraceSchema.safeParse(input);
  if (!parsed.success) throw new TraceError(`invalid trace: ${describeIssues(parsed.error)}`);
  const trace = parsed.data;
  const { datasetSize, epochs } = trace.scenario;
  trace.steps.forEach((step, index) => {
    step.fingerprint.samples.forEach((sample, k) => {
      const epoch = step.fingerprint.epochs[k] ?? 0;
      if (sample >= datasetSize || epoch >= epochs)
        throw new TraceError(
          `invalid trace: steps.${index}.fingerprint entry ${k}: expected epoch < ${epochs} and sample < ${datasetSize}, saw epoch ${epoch} sample ${sample}`,
        );
    });
  });
  return trace;
}

/** Reads a wire float back into a number. */
export function fromWireFloat(value: WireFloat): number {
  if (typeof value === "number") return value;
  if (value === "NaN") return Number.NaN;
  return value === "Infinity" ? Number.POSITIVE_INFINITY : Number.NEGATIVE_INFINITY;
}

/** Writes a number as a wire float (non-finite values become strings). */
export function toWireFloat(value: number): WireFloat {
  if (Number.isFinite(value)) return value;
  if (Number.isNaN(value)) return "NaN";
  return value > 0 ? "Infinity" : "-Infinity";
}
