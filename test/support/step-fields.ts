/**
 * The scenarios issue 21's framework tests run: 128/8/4 over 2 epochs (whole windows, so only the
 * step semantics can fail), with one step-semantics field set at a time.
 */
export const ALIGNED = { datasetSize: 128, batchSize: 8, accumulation: 4, epochs: 2 } as const;

/** Each field alone, as test/step-semantics-*.test.ts set it. */
export const ONE_FIELD = {
  clip: { clipNorm: 0.05, model: "logistic" },
  cosine: { schedule: "cosine", warmupSteps: 2 },
  linear: { schedule: "linear" },
  ema: { ema: 0.9 },
  adamw: { optimizer: "adamw" },
  overflow: { precision: "fp16", overflowStep: 2 },
} as const;

/** A field's name in {@link ONE_FIELD}. */
export type OneField = keyof typeof ONE_FIELD;
