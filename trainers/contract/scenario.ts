import { z } from "zod";

/**
 * Numeric precisions a scenario can ask for, from the highest to the lowest (a later one rounds
 * more; the trace's `trainer.forwardPrecisions` lists them lowest first). fp16 and bf16 are
 * emulated by the built-in trainers.
 */
export const PRECISIONS = ["fp32", "fp16", "bf16"] as const;
/**
 * Probe model bodies: none beside the fingerprint, logistic regression, a two-layer MLP (these
 * three read feature vectors), or `causal-lm`, a token embedding with a linear next-token head
 * (it reads token sequences, so token weighting only).
 */
export const MODELS = ["fingerprint", "logistic", "mlp", "causal-lm"] as const;
/**
 * What a window's full-batch gradient weights equally: every sample (`samples`: each sample's
 * loss is one number), or every loss token (`tokens`: each sample is a token sequence whose loss
 * is a mean over its loss tokens, as in language-model fine-tuning).
 */
export const WEIGHTINGS = ["samples", "tokens"] as const;
/** The models that read feature vectors (sample weighting) and those that read token sequences. */
export const MODELS_BY_WEIGHTING = {
  samples: ["fingerprint", "logistic", "mlp"],
  tokens: ["fingerprint", "causal-lm"],
} as const satisfies Record<(typeof WEIGHTINGS)[number], ReadonlyArray<(typeof MODELS)[number]>>;

/** Most loss tokens one sample may have. */
export const MAX_LOSS_TOKENS = 64;
/** Loss-token counts drawn when a token-weighted scenario names none: uniform from 1 to 8. */
export const DEFAULT_LENGTHS = "1-8";

/**
 * How a run's micro-batches draw their samples: `epochs` (every epoch one pass over the dataset,
 * each sample once) or `replacement` (no epochs: every micro-batch is B draws with replacement,
 * as nanoGPT-style pretraining loops draw `torch.randint(N, (B,))`, for a number of steps).
 */
export const SAMPLINGS = ["epochs", "replacement"] as const;

/**
 * Learning-rate schedules over a run's applied optimizer steps s = 0 .. T-1 (T from the scenario),
 * after `warmupSteps` w of linear warm-up (lr · s / w, as transformers' schedules warm up):
 * `constant` lr; `linear` lr · (T - s) / (T - w); `cosine` lr · (1 + cos(π (s - w) / (T - w))) / 2;
 * `step` lr · 0.9^(s - w) (torch's StepLR with step_size 1, gamma 0.9). reference/schedule.ts
 * computes them in float64.
 */
export const SCHEDULES = ["constant", "linear", "cosine", "step"] as const;
/** The decay of the `step` schedule per applied step (torch.optim.lr_scheduler.StepLR's gamma). */
export const STEP_SCHEDULE_GAMMA = 0.9;
/**
 * Optimizers a scenario can ask for: plain SGD at the learning rate, or AdamW (betas 0.9 and
 * 0.999, eps 1e-8, weight decay {@link ADAMW_WEIGHT_DECAY}).
 */
export const OPTIMIZERS = ["sgd", "adamw"] as const;
/** AdamW's weight decay under `--optimizer adamw`. */
export const ADAMW_WEIGHT_DECAY = 0.01;

/** Most draws (steps x K x B) a run that draws with replacement may ask for. */
export const MAX_DRAWS = 2_000_000;

/** Most data-parallel ranks a scenario may ask for. */
export const MAX_WORLD_SIZE = 8;

/** Upper bound on fingerprint parameters (epochs x dataset size) so a scenario stays auditable. */
export const MAX_FINGERPRINT_PARAMETERS = 2_000_000;

declare module "zod" {
  interface GlobalMeta {
    /** The command-line flag that sets a scenario field, e.g. `--dataset-size`. */
    flag?: string;
    /** The letter the mission names a field by (N, B, K, E), shown as the flag's value placeholder. */
    symbol?: string;
    /** What people call the field, for tables and labels. */
    label?: string;
  }
}

/**
 * A whole number from `min` to `max`, each problem one issue: the bounds come first, so that a
 * number too large to be a safe integer is said to be too large, and (with `abort`, the default)
 * the first check that fails stops the rest and the refinements across fields. `expected` words
 * every problem alike.
 */
const wholeNumber = (
  min: number,
  max: number,
  { expected, abort = true }: { expected?: (input: unknown) => string; abort?: boolean } = {},
): z.ZodNumber =>
  z
    .number({
      error: (issue) =>
        expected?.(issue.input) ??
        `expected a number, saw ${JSON.stringify(issue.input) ?? "nothing"}`,
    })
    .min(min, {
      error: (issue) => expected?.(issue.input) ?? `expected at least ${min}, saw ${issue.input}`,
      abort,
    })
    .max(max, {
      error: (issue) => expected?.(issue.input) ?? `expected at most ${max}, saw ${issue.input}`,
      abort,
    })
    .int({
      error: (issue) => expected?.(issue.input) ?? `expected a whole number, saw ${issue.input}`,
      abort,
    });

/** What a shuffle seed may be. */
const SEED_WORDS = "expected false or a whole number from 0 to 4294967295";

const choice = <const T extends readonly [string, ...string[]]>(values: T) =>
  z.enum(values, {
    error: (issue) => `expected one of ${values.join(", ")}, saw ${JSON.stringify(issue.input)}`,
  });

/**
 * One training scenario: what the harness asks a trainer to run. The schema is the TypeScript
 * type, the runtime check and, through each field's metadata (flag, symbol, label,
 * description), the one place that the command line, its usage text, replay commands, report
 * labels and the Python worker's JSON Schema are derived from.
 */
export const ScenarioSchema = z
  .object({
    datasetSize: wholeNumber(1, 1_000_000).meta({
      flag: "--dataset-size",
      symbol: "N",
      label: "dataset size",
      description: "number of labelled samples",
    }),
    batchSize: wholeNumber(1, 1_000_000).meta({
      flag: "--batch-size",
      symbol: "B",
      label: "micro-batch size",
      description: "samples per micro-batch",
    }),
    accumulation: wholeNumber(1, 100_000).meta({
      flag: "--accumulation",
      symbol: "K",
      label: "accumulation",
      description: "micro-batches accumulated into one optimizer step",
    }),
    worldSize: wholeNumber(1, MAX_WORLD_SIZE).default(1).meta({
      flag: "--world-size",
      symbol: "W",
      label: "world size",
      description:
        "data-parallel ranks (processes), each running micro-batches of B samples; one window is K micro-batches of every rank",
    }),
    epochs: wholeNumber(1, 1000).default(1).meta({
      flag: "--epochs",
      symbol: "E",
      label: "epochs",
      description: "passes over the dataset",
    }),
    sampling: choice(SAMPLINGS).default("epochs").meta({
      flag: "--sampling",
      label: "sampling",
      description:
        "how micro-batches draw samples: epochs (each epoch a pass over the dataset) or replacement (every micro-batch B random draws, no epochs, as nanoGPT-style loops do; set --steps)",
    }),
    steps: wholeNumber(1, 1_000_000).optional().meta({
      flag: "--steps",
      symbol: "S",
      label: "steps",
      description:
        "optimizer steps of a run that draws with replacement, each over K micro-batches of B draws (replacement sampling only)",
    }),
    dropLast: z.boolean().default(false).meta({
      flag: "--drop-last",
      label: "drop_last",
      description: "drop the epoch's last micro-batch when it holds fewer than B samples",
    }),
    shuffle: z
      .union(
        [
          z.literal(false),
          wholeNumber(0, 0xffffffff, { expected: (input) => `${SEED_WORDS}, saw ${input}` }),
        ],
        {
          error: (issue) => `${SEED_WORDS}, saw ${JSON.stringify(issue.input) ?? "nothing"}`,
        },
      )
      .default(false)
      .meta({
        flag: "--shuffle",
        symbol: "SEED",
        label: "shuffle",
        description: "shuffle the samples every epoch from this seed; false keeps index order",
      }),
    precision: choice(PRECISIONS).default("fp32").meta({
      flag: "--precision",
      label: "precision",
      description: "numeric precision of the training",
    }),
    model: choice(MODELS).default("fingerprint").meta({
      flag: "--model",
      label: "model",
      description: "probe model body beside the fingerprint parameters",
    }),
    dataSeed: wholeNumber(0, 0xffffffff).default(0).meta({
      flag: "--data-seed",
      symbol: "S",
      label: "data seed",
      description: "seed of the synthetic dataset and of the body's initial parameters",
    }),
    weighting: choice(WEIGHTINGS).default("samples").meta({
      flag: "--weighting",
      label: "weighting",
      description:
        "what the full-batch gradient weights equally: samples, or loss tokens (each sample a token sequence, its loss a mean over its loss tokens)",
    }),
    lengths: z
      .union(
        [
          z
            .array(
              // Not aborting: the union then names the count (`lengths.1`) rather than the list.
              wholeNumber(0, MAX_LOSS_TOKENS, {
                expected: (input) =>
                  `expected loss-token counts from 0 to ${MAX_LOSS_TOKENS}, saw ${JSON.stringify(input) ?? "nothing"}`,
                abort: false,
              }),
            )
            .min(1, { error: "expected at least one loss-token count" }),
          z.string().regex(/^\d+-\d+$/, { error: "expected a range such as 1-8" }),
        ],
        {
          error: (issue) =>
            `expected loss-token counts (whole numbers from 0 to ${MAX_LOSS_TOKENS}, repeated over the samples) or a range A-B, saw ${JSON.stringify(issue.input) ?? "nothing"}`,
        },
      )
      .optional()
      .meta({
        flag: "--lengths",
        symbol: "LENGTHS",
        label: "loss tokens",
        description: `loss tokens per sample (token weighting): a list such as 3,1,2 repeated over the samples, or a range A-B drawn uniformly from the data seed (default ${DEFAULT_LENGTHS})`,
      }),
    learningRate: z
      .number({ error: "expected a number" })
      .positive({ error: (issue) => `expected a number above 0, saw ${issue.input}` })
      .max(10, { error: (issue) => `expected at most 10, saw ${issue.input}` })
      .default(0.1)
      .meta({
        flag: "--learning-rate",
        symbol: "LR",
        label: "learning rate",
        description: "the optimizer's learning rate (the schedule's peak)",
      }),
    clipNorm: z
      .number({ error: "expected a number" })
      .positive({ error: (issue) => `expected a number above 0, saw ${issue.input}` })
      .max(1e6, { error: (issue) => `expected at most 1000000, saw ${issue.input}` })
      .optional()
      .meta({
        flag: "--clip-norm",
        symbol: "C",
        label: "clip norm",
        description:
          "the trainer clips the window's gradient to this global L2 norm over every parameter, once per step (after the all-reduce)",
      }),
    schedule: choice(SCHEDULES).default("constant").meta({
      flag: "--schedule",
      label: "LR schedule",
      description:
        "learning-rate schedule over the run's applied optimizer steps: constant, linear (to 0), cosine (to 0) or step (x0.9 per step), after --warmup-steps",
    }),
    warmupSteps: wholeNumber(0, 1_000_000).default(0).meta({
      flag: "--warmup-steps",
      symbol: "STEPS",
      label: "warm-up steps",
      description: "applied optimizer steps of linear warm-up from 0 before the schedule",
    }),
    ema: z
      .number({ error: "expected a number" })
      .gt(0, { error: (issue) => `expected a decay above 0, saw ${issue.input}` })
      .lt(1, { error: (issue) => `expected a decay below 1, saw ${issue.input}` })
      .optional()
      .meta({
        flag: "--ema",
        symbol: "DECAY",
        label: "EMA decay",
        description:
          "the trainer keeps an exponential moving average of the parameters with this decay, one update per applied step",
      }),
    optimizer: choice(OPTIMIZERS)
      .default("sgd")
      .meta({
        flag: "--optimizer",
        label: "optimizer",
        description: `the optimizer: sgd (plain) or adamw (weight decay ${ADAMW_WEIGHT_DECAY})`,
      }),
    overflowStep: wholeNumber(1, 1_000_000).optional().meta({
      flag: "--overflow-step",
      symbol: "WINDOW",
      label: "overflow window",
      description:
        "fp16 only: the probe makes this window (1-based, counted over the run) overflow once, so the loss scaler skips its step; a correct loop redoes the window",
    }),
  })
  .strict()
  .refine((s) => s.datasetSize * s.epochs <= MAX_FINGERPRINT_PARAMETERS, {
    message: `expected datasetSize x epochs at most ${MAX_FINGERPRINT_PARAMETERS} (one fingerprint parameter per sample per epoch)`,
    path: ["datasetSize"],
  })
  .superRefine(checkSampling)
  .superRefine((s, ctx) => {
    if (s.clipNorm !== undefined && s.sampling === "replacement")
      ctx.addIssue({
        code: "custom",
        message:
          "expected epoch sampling (clipping is audited over epochs only; replacement sampling is not yet)",
        path: ["clipNorm"],
      });
    if (s.overflowStep !== undefined && s.precision !== "fp16")
      ctx.addIssue({
        code: "custom",
        message: `expected fp16 precision (only a scaled fp16 loss overflows), saw ${s.precision}`,
        path: ["overflowStep"],
      });
  })
  .superRefine((s, ctx) => {
    const models: readonly string[] = MODELS_BY_WEIGHTING[s.weighting];
    if (!models.includes(s.model))
      ctx.addIssue({
        code: "custom",
        message: `expected one of ${models.join(", ")} under ${s.weighting} weighting, saw ${s.model}`,
        path: ["model"],
      });
    if (s.lengths === undefined) return;
    if (s.weighting !== "tokens")
      ctx.addIssue({
        code: "custom",
        message: "loss-token counts apply to token weighting only (set weighting to tokens)",
        path: ["lengths"],
      });
    else if (Array.isArray(s.lengths) && s.lengths.length > s.datasetSize)
      ctx.addIssue({
        code: "custom",
        message: `expected at most ${s.datasetSize} loss-token counts (one per sample, repeated when fewer), saw ${s.lengths.length}`,
        path: ["lengths"],
      });
    else if (typeof s.lengths === "string") {
      const [low, high] = s.lengths.split("-").map(Number) as [number, number];
      if (low > high || high > MAX_LOSS_TOKENS)
        ctx.addIssue({
          code: "custom",
          message: `expected a range A-B with A <= B <= ${MAX_LOSS_TOKENS}, saw ${s.lengths}`,
          path: ["lengths"],
        });
    }
  });

/**
 * The rules of the sampling: `steps` belongs to replacement sampling and is required there; a run
 * that draws with replacement has one pass (no epochs), no drop_last or shuffle (every micro-batch
 * is B draws from the data seed) and one rank.
 */
function checkSampling(
  s: {
    sampling: (typeof SAMPLINGS)[number];
    steps?: number | undefined;
    epochs: number;
    dropLast: boolean;
    shuffle: number | false;
    worldSize: number;
    batchSize: number;
    accumulation: number;
  },
  ctx: z.RefinementCtx,
): void {
  const issue = (path: string, message: string) =>
    ctx.addIssue({ code: "custom", message, path: [path] });
  if (s.sampling === "epochs") {
    if (s.steps !== undefined)
      issue(
        "steps",
        `expected none under epoch sampling (steps apply to replacement sampling), saw ${s.steps}`,
      );
    return;
  }
  const why = "under replacement sampling";
  if (s.steps === undefined)
    issue("steps", `expected the optimizer steps the run takes ${why}, saw none`);
  else if (s.steps * s.accumulation * s.batchSize > MAX_DRAWS)
    issue(
      "steps",
      `expected steps x accumulation x batchSize at most ${MAX_DRAWS} draws, saw ${s.steps * s.accumulation * s.batchSize}`,
    );
  if (s.epochs !== 1)
    issue(
      "epochs",
      `expected 1 ${why} (a run that draws with replacement has no epochs; set steps), saw ${s.epochs}`,
    );
  if (s.dropLast)
    issue("dropLast", `expected off ${why} (every micro-batch holds B draws), saw on`);
  if (s.shuffle !== false)
    issue("shuffle", `expected off ${why} (the draws come from the data seed), saw ${s.shuffle}`);
  if (s.worldSize !== 1)
    issue(
      "worldSize",
      `expected 1 ${why} (one process draws; data-parallel draws are not audited), saw ${s.worldSize}`,
    );
}

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

/**
 * Formats zod issues as one line, `field: message; field: message`; `name` renames a field (a
 * command line names its flags instead).
 */
export function describeIssues(
  error: z.ZodError,
  name: (field: string) => string = (field) => field,
): string {
  return error.issues
    .map((issue) => {
      const path = issue.path.length > 0 ? name(issue.path.join(".")) : "(root)";
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

/**
 * Whether the scenario asks for any step semantics beyond the gradient (a schedule, warm-up,
 * clipping, an average, AdamW or an overflow).
 */
export function hasStepSemantics(s: Scenario): boolean {
  return (
    s.clipNorm !== undefined ||
    s.schedule !== "constant" ||
    s.warmupSteps > 0 ||
    s.ema !== undefined ||
    s.optimizer !== "sgd" ||
    s.overflowStep !== undefined
  );
}

/** Optimizer steps a correct trainer applies in one epoch. */
export function stepsPerEpoch(s: Scenario): number {
  return Math.ceil(microBatchesPerEpoch(s) / s.accumulation);
}
