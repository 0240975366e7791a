import { IGNORE_INDEX, type TokenSequences } from "../contract/probe.js";

/**
 * Each sample's loss tokens, causal-LM style: the loss token at position t (t >= 1, label not
 * {@link IGNORE_INDEX}) is predicted from the token at t - 1. `contexts[i][k]` is that input token
 * and `targets[i][k]` the label, for sample i's k-th loss token in position order.
 */
export interface LossTokens {
  contexts: number[][];
  targets: number[][];
}

/** A micro-batch's loss tokens in sample order, then position order. */
export interface TokenBatch {
  /** Per token: the sample it belongs to. */
  owners: number[];
  contexts: number[];
  targets: number[];
}

/**
 * A micro-batch's loss tokens one row per sample, padded to the longest row (`width` columns,
 * row-major); `mask` is 1 at a loss token and 0 at padding, whose context and target are 0.
 */
export interface PaddedTokenBatch {
  width: number;
  contexts: number[];
  targets: number[];
  mask: number[];
  /** Per sample: its loss tokens. */
  counts: number[];
}

/** Reads the loss tokens out of token sequences, counting labels as a real loop does (`labels != -100`). */
export function lossTokensOf(tokens: TokenSequences): LossTokens {
  const contexts: number[][] = [];
  const targets: number[][] = [];
  tokens.labels.forEach((labels, i) => {
    const ids = tokens.inputIds[i] ?? [];
    const sampleContexts: number[] = [];
    const sampleTargets: number[] = [];
    for (let t = 1; t < labels.length; t++) {
      const label = labels[t] ?? IGNORE_INDEX;
      if (label === IGNORE_INDEX) continue;
      sampleContexts.push(ids[t - 1] ?? 0);
      sampleTargets.push(label);
    }
    contexts.push(sampleContexts);
    targets.push(sampleTargets);
  });
  return { contexts, targets };
}

/** The loss tokens of `samples`, flattened (see {@link TokenBatch}). */
export function tokenBatch(tokens: LossTokens, samples: readonly number[]): TokenBatch {
  const batch: TokenBatch = { owners: [], contexts: [], targets: [] };
  for (const sample of samples) {
    const contexts = tokens.contexts[sample] ?? [];
    (tokens.targets[sample] ?? []).forEach((target, k) => {
      batch.owners.push(sample);
      batch.contexts.push(contexts[k] ?? 0);
      batch.targets.push(target);
    });
  }
  return batch;
}

/** The loss tokens of `samples`, one padded row per sample (see {@link PaddedTokenBatch}). */
export function paddedTokenBatch(tokens: LossTokens, samples: readonly number[]): PaddedTokenBatch {
  const counts = samples.map((sample) => tokens.targets[sample]?.length ?? 0);
  const width = Math.max(0, ...counts);
  const batch: PaddedTokenBatch = { width, contexts: [], targets: [], mask: [], counts };
  for (const sample of samples) {
    const contexts = tokens.contexts[sample] ?? [];
    const targets = tokens.targets[sample] ?? [];
    for (let k = 0; k < width; k++) {
      const present = k < targets.length;
      batch.contexts.push(present ? (contexts[k] ?? 0) : 0);
      batch.targets.push(present ? (targets[k] ?? 0) : 0);
      batch.mask.push(present ? 1 : 0);
    }
  }
  return batch;
}
