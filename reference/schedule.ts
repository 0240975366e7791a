import {
  microBatchesPerEpoch,
  type Scenario,
  STEP_SCHEDULE_GAMMA,
} from "../trainers/contract/scenario.js";

/**
 * The number of applied optimizer steps a scenario's schedule spans, T, from the scenario alone:
 * `steps` under replacement sampling; otherwise E x ceil(M / K), M the micro-batches of one rank's
 * epoch, ceil(P / B) (floor under drop_last) of its P = ceil(N / W) samples, as a padding
 * `DistributedSampler` gives every rank.
 */
export function scheduleLength(scenario: Scenario): number {
  if (scenario.sampling === "replacement") return scenario.steps ?? 0;
  if (scenario.worldSize === 1)
    return scenario.epochs * Math.ceil(microBatchesPerEpoch(scenario) / scenario.accumulation);
  const perRank = Math.ceil(scenario.datasetSize / scenario.worldSize);
  const microBatches = scenario.dropLast
    ? Math.floor(perRank / scenario.batchSize)
    : Math.ceil(perRank / scenario.batchSize);
  return scenario.epochs * Math.ceil(microBatches / scenario.accumulation);
}

/**
 * The schedule's multiplier of the learning rate at applied step `s` (0-based), in float64: s / w
 * during w warm-up steps, then the scenario's schedule over the remaining T - w steps (see
 * SCHEDULES in trainers/contract/scenario.ts; `linear` and `cosine` are transformers' schedules with warm-up).
 */
export function scheduleFactor(scenario: Scenario, s: number, length = scheduleLength(scenario)) {
  const warmup = scenario.warmupSteps;
  if (s < warmup) return s / Math.max(1, warmup);
  const after = s - warmup;
  const span = Math.max(1, length - warmup);
  switch (scenario.schedule) {
    case "constant":
      return 1;
    case "linear":
      return Math.max(0, (length - s) / span);
    case "cosine":
      return Math.max(0, 0.5 * (1 + Math.cos((Math.PI * after) / span)));
    case "step":
      return STEP_SCHEDULE_GAMMA ** after;
  }
}

/** The learning rate applied step `s` (0-based) must use: the scenario's rate times {@link scheduleFactor}. */
export function expectedLearningRate(
  scenario: Scenario,
  s: number,
  length = scheduleLength(scenario),
): number {
  return scenario.learningRate * scheduleFactor(scenario, s, length);
}
