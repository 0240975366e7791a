import { z } from "zod";

/** Numeric precisions a scenario can ask for. fp16 and bf16 are emulated by the built-in trainers. */
export const PRECISIONS = ["fp32", "fp16", "bf16"] as const;
/** Probe model bodies: none beside the fingerprint, logistic regression, or a two-layer MLP. */
export const MODELS = ["fingerprint", "logistic", "mlp"] as const;

/** Upper bound on fingerprint parameters (epochs x dataset size) so a scenario stays auditable. */
export const MAX_FINGERPRINT_PARAMETERS = 2_000_000;

const positiveInteger = (max: number) =>
  z
    .number({
      error: (issue) => `expected a number, saw ${JSON.stringify(issue.input) ?? "nothing"}`,
    })
    .refine(Number.isInteger, { error: (issue) => `expected a whole number, saw ${issue.input}` })
    .refine((v) => v >= 1, { error: (issue) => `expected at least 1, saw ${issue.input}` })
    .refine((v) => v <= max, { error: (issue) => `expected at most ${max}, saw ${issue.input}` });

/**
 * One training scenario: what the harness asks a trainer to run.
 * The schema is both the TypeScript type and the runtime check.
 */
export const ScenarioSchema = z
  .object({
    /** N: number of labelled samples. */
    datasetSize: positiveInteger(1_000_000),
    /** B: samples per micro-batch. */
    batchSize: positiveInteger(1_000_000),
    /** K: micro-batches accumulated into one optimizer step. */
    accumulation: positiveInteger(100_000),
    /** Drop the epoch's last micro-batch when it holds fewer than B samples. */
    dropLast: z.boolean().default(false),
    /** false: samples in index order; a number: shuffle every epoch from this seed. */
    shuffle: z
      .union([z.literal(false), z.number().int().min(0).max(0xffffffff)], {
        error: "shuffle must be false or a whole-number seed from 0 to 4294967295",
      })
      .default(false),
    /** E: passes over the dataset. */
    epochs: positiveInteger(1000).default(1),
    precision: z
      .enum(PRECISIONS, { error: `expected one of ${PRECISIONS.join(", ")}` })
      .default("fp32"),
    model: z.enum(MODELS, { error: `expected one of ${MODELS.join(", ")}` }).default("fingerprint"),
    /** Seed of the synthetic dataset and of the body's initial parameters. */
    dataSeed: z.number().int().min(0).max(0xffffffff).default(0),
    /** Plain SGD learning rate. */
    learningRate: z.number().positive().max(10).default(0.1),
  })
  .strict()
  .refine((s) => s.datasetSize * s.epochs <= MAX_FINGERPRINT_PARAMETERS, {
    message: `expected datasetSize x epochs at most ${MAX_FINGERPRINT_PARAMETERS} (one fingerprint parameter per sample per epoch)`,
    path: ["datasetSize"],
  });

/** A validated scenario, defaults filled in. */
export type Scenario = z.output<typeof ScenarioSchema>;
/** A scenario as a user may write it: optional fields may be left out. */
export type ScenarioInput = z.input<typeof ScenarioSchema>;

/** A scenario that failed validation; `message` is one line naming the field. */
export class ScenarioError extends Error {
  override name = "ScenarioError";
}

/** Validates a scenario and fills its defaults; throws {@link ScenarioError} with a one-line message. */
export function parseScenario(input: unknown): Scenario {
  const parsed = ScenarioSchema.safeParse(input);
  if (parsed.success) return parsed.data;
  throw new ScenarioError(describeIssues(parsed.error));
}

/** Formats zod issues as one line: `field: message; field: message`. */
export function describeIssues(error: z.ZodError): string {
  return error.issues
    .map((issue) => {
      const path = issue.path.length > 0 ? issue.path.join(".") : "(root)";
      if (issue.code === "unrecognized_keys")
        return `${path}: unknown field(s) ${issue.keys.join(", ")}`;
      return `${path}: ${issue.message}`;
    })
    .join("; ");
}

/** Number of micro-batches the loader yields in one epoch. */
export function microBatchesPerEpoch(s: Scenario): number {
  return s.dropLast
    ? Math.floor(s.datasetSize / s.batchSize)
    : Math.ceil(s.datasetSize / s.batchSize);
}

/** Samples drop_last removes from every epoch on purpose. */
export function droppedPerEpoch(s: Scenario): number {
  return s.dropLast ? s.datasetSize % s.batchSize : 0;
}

/** Optimizer steps a correct trainer applies in one epoch. */
export function stepsPerEpoch(s: Scenario): number {
  return Math.ceil(microBatchesPerEpoch(s) / s.accumulation);
}

/** The scenario's shape as `N/B/K xE`, e.g. `110/8/4 x2`. */
export function scenarioShape(s: Scenario): string {
  return `${s.datasetSize}/${s.batchSize}/${s.accumulation} x${s.epochs}`;
}

/** The scenario as `accumaudit check` flags, to replay it. */
export function scenarioFlags(s: Scenario): string[] {
  const flags = [
    "--dataset-size",
    String(s.datasetSize),
    "--batch-size",
    String(s.batchSize),
    "--accumulation",
    String(s.accumulation),
    "--epochs",
    String(s.epochs),
  ];
  if (s.dropLast) flags.push("--drop-last");
  if (s.shuffle !== false) flags.push("--shuffle", String(s.shuffle));
  if (s.precision !== "fp32") flags.push("--precision", s.precision);
  if (s.model !== "fingerprint") flags.push("--model", s.model);
  if (s.dataSeed !== 0) flags.push("--data-seed", String(s.dataSeed));
  if (s.learningRate !== 0.1) flags.push("--learning-rate", String(s.learningRate));
  return flags;
}
