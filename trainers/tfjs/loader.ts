import { uniformInt } from "pure-rand/distribution/uniformInt";
import { xoroshiro128plus } from "pure-rand/generator/xoroshiro128plus";
import { microBatchesPerEpoch, type Scenario } from "../contract/scenario.js";

/** Sample ids of one micro-batch, in loader order. */
export type MicroBatchSamples = readonly number[];

/**
 * A DataLoader over the probe dataset: micro-batches of B sample ids per epoch, in index order
 * or shuffled per epoch, the short last micro-batch dropped when drop_last is set.
 */
export interface MicroBatchLoader {
  /** Micro-batches per epoch, like `len(loader)` in PyTorch. */
  readonly length: number;
  /** The epoch's micro-batches; iterate it like `for batch in loader` after `set_epoch(epoch)`. */
  epoch(epoch: number): Iterable<MicroBatchSamples>;
}

/**
 * The epoch's sample order: 0..N-1, or a Fisher-Yates shuffle drawn from a xoroshiro128+
 * generator seeded with `shuffleSeed` and jumped `epoch` times (an independent stream per epoch),
 * so the order is a pure function of (seed, epoch).
 */
export function sampleOrder(
  datasetSize: number,
  shuffle: Scenario["shuffle"],
  epoch: number,
): number[] {
  const order: number[] = [];
  for (let i = 0; i < datasetSize; i++) order.push(i);
  if (shuffle === false) return order;
  const rng = xoroshiro128plus(shuffle | 0);
  for (let e = 0; e < epoch; e++) rng.jump();
  for (let i = datasetSize - 1; i > 0; i--) {
    const j = uniformInt(rng, 0, i);
    const swap = order[i] ?? i;
    order[i] = order[j] ?? j;
    order[j] = swap;
  }
  return order;
}

function* microBatches(scenario: Scenario, epoch: number): Generator<MicroBatchSamples> {
  const order = sampleOrder(scenario.datasetSize, scenario.shuffle, epoch);
  const count = microBatchesPerEpoch(scenario);
  for (let k = 0; k < count; k++)
    yield order.slice(k * scenario.batchSize, (k + 1) * scenario.batchSize);
}

/** The scenario's loader. */
export function createLoader(scenario: Scenario): MicroBatchLoader {
  return {
    length: microBatchesPerEpoch(scenario),
    epoch: (epoch) => ({ [Symbol.iterator]: () => microBatches(scenario, epoch) }),
  };
}
