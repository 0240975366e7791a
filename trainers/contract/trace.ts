import { z } from "zod";
import { bodyParameterCount } from "./probe.js";
import { describeIssues, PRECISIONS, ScenarioSchema } from "./scenario.js";
import { isCount, plainMicroBatch, plainReplica, plainStep } from "./trace-entries.js";

export { isCount };

/** Version of the trace format this harness writes; it reads {@link TRACE_VERSIONS}. */
export const TRACE_VERSION = 2;
/** Versions of the trace format this harness reads: 1 (one process) and 2 (ranks). */
export const TRACE_VERSIONS = [1, 2] as const;

const count = z.number().int().min(0);

/** How an optimizer updates, as a step's `update` says: plain SGD, or any other rule. */
export const UPDATE_RULES = ["sgd", "other"] as const;

/** A schema whose output is an array of numbers, whatever it reads. */
type NumberArraySchema = z.ZodType<number[], unknown>;

/** How a trace's number arrays are written: plain arrays in memory, wire encodings across processes. */
export interface TraceArrays {
  /** Arrays of floats (weights, gradients, parameters). */
  floats: NumberArraySchema;
  /** Arrays of non-negative whole numbers (epochs, sample ids). */
  counts: NumberArraySchema;
}

/**
 * The trace's structure with its number arrays given by `arrays`: {@link TraceSchema} uses plain
 * arrays of numbers; trainers/external/ decodes the wire form (packed arrays, non-finite floats
 * as strings) with the same structure.
 */
export function traceSchema(arrays: TraceArrays) {
  const { floats, counts } = arrays;
  /**
   * The fingerprint part of an applied gradient, sparse: entry k says that the step gave sample
   * `samples[k]`'s epoch-`epochs[k]` occurrence the weight `weights[k]` (the gradient of
   * phi[epoch][sample] divided by the fingerprint coefficient). Entries with weight 0 may be left out.
   */
  const fingerprint = z
    .object({ epochs: counts, samples: counts, weights: floats })
    .strict()
    .refine((f) => f.epochs.length === f.samples.length && f.samples.length === f.weights.length, {
      message: "epochs, samples and weights must have the same length",
    });
  /** The body part of a step: parameters before the step and the gradient the optimizer applied. */
  const body = z
    .object({ parametersBefore: floats, gradient: floats })
    .strict()
    .refine((b) => b.parametersBefore.length === b.gradient.length, {
      message: "parametersBefore and gradient must have the same length",
    });
  /**
   * What an applied step did to the parameters, read by the recorder right after the step: the
   * change θ − θ' (parameters before minus after, the sign of a descent) of every entry the
   * step's gradient lists and of the body, so that the oracle can tell whether the step applied
   * its gradient (plain SGD: θ − θ' = lr·g), applied it twice, or moved nothing.
   */
  const update = z
    .object({
      /** "sgd": plain SGD (no momentum, weight decay or other term), θ' = θ − lr·g; "other": any other rule. */
      rule: z.enum(UPDATE_RULES),
      /** The learning rate the optimizer stepped with, when the recorder knows it. */
      learningRate: z.number().min(0).optional(),
      /** θ − θ' of each fingerprint entry the step's gradient lists, in the same order. */
      fingerprint: floats,
      /** θ − θ' of every body parameter; null for the fingerprint-only model. */
      body: floats.nullable(),
      /** Fingerprint entries without a gradient at this step that it moved (among those the recorder read). */
      movedWithoutGradient: count,
    })
    .strict();
  /**
   * A moving average of the parameters (EMA) around one step call, as projections of every probe
   * parameter onto the same fixed directions for the whole run (the recursion is linear, so it
   * holds for each projection): the parameters at the call's start (`before`) and right after it
   * (`after`), and the average as it stood at the start of the next step call, or at the run's end
   * for the last call (`value`).
   */
  const average = z
    .object({ before: floats, after: floats, value: floats })
    .strict()
    .refine((a) => a.before.length === a.after.length && a.after.length === a.value.length, {
      message: "before, after and value must have the same length",
    });
  /** One call of the optimizer's step, applied or skipped. */
  const step = z
    .object({
      /** 0-based epoch during which the step was taken. */
      epoch: count,
      /** True when the step applied nothing (mixed precision found inf/nan after loss scaling). */
      skipped: z.boolean(),
      /** Applied fingerprint gradient; empty for a skipped step. */
      fingerprint,
      /** Applied body gradient; null for the fingerprint-only model or a skipped step. */
      body: body.nullable(),
      /** Loss scale in force at the step, when the trainer scales the loss. */
      lossScale: z.number().positive().optional(),
      /** What the step did to the parameters (applied steps, when the recorder read them). */
      update: update.optional(),
      /**
       * The optimizer's own step counter right after this call, when it keeps one (torch's AdamW:
       * `state[p]["step"]`); absent for an optimizer without one (plain SGD).
       */
      optimizerSteps: count.optional(),
      /** The parameters' moving average around this call, when the run keeps one the recorder watches. */
      average: average.optional(),
    })
    .strict();
  /** One forward pass of a micro-batch through the probe model, as the probe observed it. */
  const microBatch = z
    .object({
      /** Epoch tag the probe model carried during the forward pass (0-based). */
      epoch: count,
      /** Sample ids in the micro-batch, in loader order. */
      samples: counts,
      /** Number of optimizer steps (applied or skipped) its rank recorded before this forward pass. */
      stepsBefore: count,
      /** The rank that ran the forward pass (version 2; 0 when absent). */
      rank: count.optional(),
    })
    .strict();
  /**
   * A change of the parameters that no step call made, as a rank's recorder saw it: it happened
   * after the rank's step call `since` - 1 ended (before the first when `since` is 0) and before
   * its call `stepsBefore` began (the run's end when it is the rank's number of step calls). The
   * two are equal when the recorder read the parameters at every step call in between.
   */
  const outsideChange = z
    .object({
      /** The rank whose parameters changed (version 2; 0 when absent). */
      rank: count.optional(),
      since: count,
      stepsBefore: count,
      /** The fingerprint entries that changed, with θ − θ' of each (sparse: the others did not). */
      fingerprint: z
        .object({ epochs: counts, samples: counts, changes: floats })
        .strict()
        .refine(
          (f) => f.epochs.length === f.samples.length && f.samples.length === f.changes.length,
          { message: "epochs, samples and changes must have the same length" },
        ),
      /** θ − θ' of every body parameter; null when the body did not change or there is none. */
      body: floats.nullable(),
    })
    .strict()
    .refine((c) => c.since <= c.stepsBefore, { message: "since must not exceed stepsBefore" });
  /** Another rank's optimizer step calls (version 2, world size above 1). */
  const replica = z.object({ rank: z.number().int().min(1), steps: z.array(step) }).strict();
  return z
    .object({
      format: z.literal("accumaudit-trace"),
      version: z.union(TRACE_VERSIONS.map((v) => z.literal(v))),
      trainer: TrainerInfoSchema,
      scenario: ScenarioSchema,
      /** Rank 0's optimizer step calls (the only rank's, in one process). */
      steps: z.array(step),
      /** Every other rank's step calls, one entry per rank (version 2, world size above 1). */
      replicas: z.array(replica).optional(),
      /**
       * Forward passes in the order each rank ran them, ranks one after another; absent when the
       * trainer cannot observe them (required above one rank).
       */
      microBatches: z.array(microBatch).optional(),
      /** Changes of the parameters outside any step call, every rank's, in the order seen; absent when none was seen. */
      outsideSteps: z.array(outsideChange).optional(),
    })
    .strict();
}

/** Who produced the trace. */
export const TrainerInfoSchema = z
  .object({
    name: z.string().min(1),
    framework: z.string().optional(),
    frameworkVersion: z.string().optional(),
    backend: z.string().optional(),
    device: z.string().optional(),
    /**
     * The precision the trainer really ran, when it differs from the scenario's (a framework that
     * quietly trains fp16 as fp32 or bf16): the Python probe sees it in every forward pass. With
     * `forwardPrecisions`, the lowest of them. The weighting is held to its tolerance.
     */
    precision: z.enum(PRECISIONS).optional(),
    /**
     * Every precision the forward passes ran, lowest first, when they were not all one (some
     * passes under autocast, some not); absent otherwise.
     */
    forwardPrecisions: z
      .array(z.enum(PRECISIONS))
      .min(2)
      .refine(
        (ps) =>
          ps.every((p, k) => k === 0 || PRECISIONS.indexOf(p) < PRECISIONS.indexOf(ps[k - 1] ?? p)),
        {
          message: `expected distinct precisions, lowest first (${[...PRECISIONS].reverse().join(", ")})`,
        },
      )
      .optional(),
  })
  .strict();

/** The record of one run of one trainer on one scenario, in memory. See docs/trace-format.md. */
/**
 * Adds an issue at the first entry of `values` that `valid` rejects, naming its index: one loop
 * over an array where a schema per entry would cost a parse each (a trace holds an entry per
 * sample per epoch).
 */
export function checkEntries(
  values: readonly unknown[],
  valid: (value: unknown) => boolean,
  expected: string,
  context: z.RefinementCtx,
): void {
  const bad = values.findIndex((value) => !valid(value));
  if (bad < 0) return;
  const value = values[bad];
  context.addIssue({
    code: "custom",
    path: [bad],
    input: value,
    message: `expected ${expected}, saw ${typeof value === "number" ? String(value) : JSON.stringify(value)}`,
  });
}

/** An array of numbers whose entries `valid` accepts, checked in one loop ({@link checkEntries}). */
function numberArray(valid: (value: unknown) => boolean, expected: string): NumberArraySchema {
  return z
    .custom<number[]>((value) => Array.isArray(value), { error: "expected an array" })
    .superRefine((values, context) => checkEntries(values, valid, expected, context));
}

export const TraceSchema = traceSchema({
  // Any JavaScript number, NaN and infinities included: a trainer may apply them.
  floats: numberArray((value) => typeof value === "number", "a number"),
  counts: numberArray(isCount, "a non-negative whole number"),
});

export type Trace = z.output<typeof TraceSchema>;
export type Step = Trace["steps"][number];
export type MicroBatch = NonNullable<Trace["microBatches"]>[number];
export type FingerprintGradient = Step["fingerprint"];
export type TrainerInfo = z.output<typeof TrainerInfoSchema>;
export type StepUpdate = NonNullable<Step["update"]>;
export type OutsideChange = NonNullable<Trace["outsideSteps"]>[number];

/** A trace that failed validation; the message names the path of the bad field. */
export class TraceError extends Error {
  override name = "TraceError";
}

/** Throws when an entry of `epochs` and `samples` names no occurrence of the scenario. */
function checkOccurrences(
  f: { epochs: readonly number[]; samples: readonly number[] },
  path: string,
  trace: Trace,
): void {
  const { datasetSize, epochs } = trace.scenario;
  f.samples.forEach((sample, k) => {
    const epoch = f.epochs[k] ?? 0;
    if (sample >= datasetSize || epoch >= epochs)
      throw new TraceError(
        `invalid trace: ${path} entry ${k}: expected epoch < ${epochs} and sample < ${datasetSize}, saw epoch ${epoch} sample ${sample}`,
      );
  });
}

/** Throws when a step's `update` does not line up with its gradient (or a skipped step has one). */
function checkUpdate(step: Step, path: string): void {
  const update = step.update;
  if (update === undefined) return;
  const fail = (field: string, expected: string, saw: string) => {
    throw new TraceError(`invalid trace: ${path}.update${field}: expected ${expected}, saw ${saw}`);
  };
  if (step.skipped) fail("", "none on a skipped step", "one");
  const entries = step.fingerprint.weights.length;
  if (update.fingerprint.length !== entries)
    fail(
      ".fingerprint",
      `${entries} changes (one per fingerprint entry)`,
      String(update.fingerprint.length),
    );
  const body = step.body?.gradient.length ?? null;
  const changes = update.body?.length ?? null;
  if (body !== changes)
    fail(
      ".body",
      body === null ? "null (the step has no body)" : `${body} changes`,
      changes === null ? "null" : String(changes),
    );
}

function checkStepIndices(steps: readonly Step[], path: string, trace: Trace): void {
  steps.forEach((step, index) => {
    checkOccurrences(step.fingerprint, `${path}.${index}.fingerprint`, trace);
    checkUpdate(step, `${path}.${index}`);
  });
}

/** Throws when a change outside the steps names a rank, an occurrence or a body size the run lacks. */
function checkOutsideSteps(trace: Trace): void {
  const { worldSize, model } = trace.scenario;
  const bodySize = bodyParameterCount(model);
  trace.outsideSteps?.forEach((change, k) => {
    const path = `outsideSteps.${k}`;
    if ((change.rank ?? 0) >= worldSize)
      throw new TraceError(
        `invalid trace: ${path}.rank: expected a rank below ${worldSize}, saw ${change.rank}`,
      );
    checkOccurrences(change.fingerprint, `${path}.fingerprint`, trace);
    if (change.body !== null && change.body.length !== bodySize)
      throw new TraceError(
        `invalid trace: ${path}.body: expected ${bodySize} changes (the ${model} body) or null, saw ${change.body.length}`,
      );
  });
}

/**
 * Checks what a schema cannot: every fingerprint entry names a sample and an epoch of the
 * scenario; ranks are those of the world size, each replica once; a run of several ranks is
 * version 2 with its micro-batches observed; the lowest forward precision is the one that ran.
 * Throws {@link TraceError}.
 */
export function checkTraceIndices(trace: Trace): Trace {
  const { worldSize } = trace.scenario;
  const fail = (field: string, expected: string, saw: string) => {
    throw new TraceError(`invalid trace: ${field}: expected ${expected}, saw ${saw}`);
  };
  if (
    trace.version === 1 &&
    (trace.replicas || trace.microBatches?.some((m) => m.rank !== undefined))
  )
    fail("version", "2 for a trace with ranks", "1");
  if (worldSize > 1 && !trace.microBatches)
    fail("microBatches", `the forward passes of all ${worldSize} ranks`, "none");
  const ran = trace.trainer.precision ?? trace.scenario.precision;
  const lowest = trace.trainer.forwardPrecisions?.[0];
  if (lowest !== undefined && lowest !== ran)
    fail(
      "trainer.forwardPrecisions",
      `the lowest first to be the precision that ran, ${ran} (trainer.precision, else the scenario's)`,
      lowest,
    );
  checkStepIndices(trace.steps, "steps", trace);
  const ranks = (trace.replicas ?? []).map((r) => r.rank);
  const expected = Array.from({ length: worldSize - 1 }, (_, k) => k + 1);
  if (ranks.join(",") !== expected.join(","))
    fail("replicas", `ranks [${expected.join(", ")}]`, `[${ranks.join(", ")}]`);
  trace.replicas?.forEach((r, k) => {
    checkStepIndices(r.steps, `replicas.${k}.steps`, trace);
  });
  trace.microBatches?.forEach((m, k) => {
    if ((m.rank ?? 0) >= worldSize)
      fail(`microBatches.${k}.rank`, `a rank below ${worldSize}`, String(m.rank));
  });
  checkOutsideSteps(trace);
  return trace;
}

/**
 * The trace when its entries (steps, replicas, micro-batches) pass the plain checks of
 * trace-entries.ts and the rest passes the schema: its entries as they are, with what the schema
 * made of the rest. Undefined otherwise. A trace holds an entry per micro-batch and per step, and
 * these checks cost a fraction of the schema's parse of each.
 */
function parsePlainEntries(input: unknown): Trace | undefined {
  if (typeof input !== "object" || input === null || Array.isArray(input)) return undefined;
  const { steps, replicas, microBatches } = input as Record<string, unknown>;
  const plain =
    Array.isArray(steps) &&
    steps.every(plainStep) &&
    (replicas === undefined || (Array.isArray(replicas) && replicas.every(plainReplica))) &&
    (microBatches === undefined ||
      (Array.isArray(microBatches) && microBatches.every(plainMicroBatch)));
  if (!plain) return undefined;
  const withoutEntries = {
    ...input,
    steps: [],
    ...(replicas === undefined
      ? {}
      : {
          replicas: (replicas as Array<Record<string, unknown>>).map((r) => ({ ...r, steps: [] })),
        }),
    ...(microBatches === undefined ? {} : { microBatches: [] }),
  };
  const head = TraceSchema.safeParse(withoutEntries);
  if (!head.success) return undefined;
  const trace = head.data;
  trace.steps = steps as Trace["steps"];
  if (trace.replicas)
    trace.replicas.forEach((replica, k) => {
      replica.steps = (replicas as Array<{ steps: Trace["steps"] }>)[k]?.steps ?? [];
    });
  if (trace.microBatches) trace.microBatches = microBatches as NonNullable<Trace["microBatches"]>;
  return trace;
}

/**
 * Validates an in-memory trace (for example one a user's loop built); throws {@link TraceError}.
 * The trace returned holds the input's own steps and micro-batches where they needed no change.
 */
export function parseTrace(input: unknown): Trace {
  const plain = parsePlainEntries(input);
  if (plain) return checkTraceIndices(plain);
  const parsed = TraceSchema.safeParse(input);
  if (!parsed.success) throw new TraceError(`invalid trace: ${describeIssues(parsed.error)}`);
  return checkTraceIndices(parsed.data);
}
