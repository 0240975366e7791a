/** Bad command-line input: printed as one line, exit code 2. */
export class UsageError extends Error {
  override name = "UsageError";
}

const FLAG_OF_FIELD: Record<string, string> = {
  datasetSize: "--dataset-size",
  batchSize: "--batch-size",
  accumulation: "--accumulation",
  dropLast: "--drop-last",
  shuffle: "--shuffle",
  epochs: "--epochs",
  precision: "--precision",
  model: "--model",
  dataSeed: "--data-seed",
  learningRate: "--learning-rate",
};

/** Rewrites scenario field names in a validation message as the flags that set them. */
export function withFlagNames(message: string): string {
  return message.replace(/\b(\w+):/g, (match, field: string) =>
    FLAG_OF_FIELD[field] ? `${FLAG_OF_FIELD[field]}:` : match,
  );
}
