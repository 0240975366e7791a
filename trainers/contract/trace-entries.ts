/**
 * Structural checks of a trace's entries (steps, micro-batches, replicas) in plain loops, for
 * {@link parseTrace}'s fast path: each accepts only what the trace schema accepts unchanged, and
 * answers false for anything else (which the schema then parses, and explains when invalid).
 */

/** Whether a value is a non-negative whole number (an epoch, a sample id, a count). */
export const isCount = (value: unknown): boolean =>
  typeof value === "number" && Number.isInteger(value) && value >= 0;

/** A plain object (not an array, a class instance or null) whose keys are all in `allowed`. */
function plainRecord(value: unknown, allowed: readonly string[]): value is Record<string, unknown> {
  if (typeof value !== "object" || value === null || Array.isArray(value)) return false;
  const prototype = Object.getPrototypeOf(value);
  if (prototype !== Object.prototype && prototype !== null) return false;
  for (const key in value) if (!allowed.includes(key)) return false;
  return true;
}

function everyEntry(value: unknown, valid: (entry: unknown) => boolean): value is unknown[] {
  if (!Array.isArray(value)) return false;
  for (let k = 0; k < value.length; k++) if (!valid(value[k])) return false;
  return true;
}

const isNumber = (value: unknown): boolean => typeof value === "number";

const FINGERPRINT_KEYS = ["epochs", "samples", "weights"] as const;
const BODY_KEYS = ["parametersBefore", "gradient"] as const;
const STEP_KEYS = [
  "epoch",
  "skipped",
  "fingerprint",
  "body",
  "lossScale",
  "update",
  "optimizerSteps",
  "average",
] as const;
const AVERAGE_KEYS = ["before", "after", "value"] as const;
const UPDATE_KEYS = [
  "rule",
  "learningRate",
  "fingerprint",
  "body",
  "movedWithoutGradient",
] as const;
const MICRO_BATCH_KEYS = ["epoch", "samples", "stepsBefore", "rank"] as const;
const REPLICA_KEYS = ["rank", "steps"] as const;

/** Whether a value is a step the trace schema takes as it is. */
export function plainStep(value: unknown): boolean {
  if (!plainRecord(value, STEP_KEYS)) return false;
  const { fingerprint: f, body: b } = value;
  if (!isCount(value.epoch) || typeof value.skipped !== "boolean") return false;
  if (
    "lossScale" in value &&
    !(Number.isFinite(value.lossScale) && (value.lossScale as number) > 0)
  )
    return false;
  if (!plainRecord(f, FINGERPRINT_KEYS)) return false;
  if (!everyEntry(f.epochs, isCount) || !everyEntry(f.samples, isCount)) return false;
  if (!everyEntry(f.weights, isNumber)) return false;
  if (f.epochs.length !== f.samples.length || f.samples.length !== f.weights.length) return false;
  if ("update" in value && !plainUpdate(value.update)) return false;
  if ("optimizerSteps" in value && !isCount(value.optimizerSteps)) return false;
  if ("average" in value && !plainAverage(value.average)) return false;
  if (b === null) return "body" in value;
  if (!plainRecord(b, BODY_KEYS)) return false;
  if (!everyEntry(b.parametersBefore, isNumber) || !everyEntry(b.gradient, isNumber)) return false;
  return b.parametersBefore.length === b.gradient.length;
}

/** Whether a value is a step's `average` the trace schema takes as it is. */
function plainAverage(value: unknown): boolean {
  if (!plainRecord(value, AVERAGE_KEYS)) return false;
  const { before, after, value: average } = value;
  if (!everyEntry(before, isNumber) || !everyEntry(after, isNumber)) return false;
  if (!everyEntry(average, isNumber)) return false;
  return before.length === after.length && after.length === average.length;
}

/** Whether a value is a step's `update` the trace schema takes as it is (lengths are checked later). */
function plainUpdate(value: unknown): boolean {
  if (!plainRecord(value, UPDATE_KEYS)) return false;
  if (value.rule !== "sgd" && value.rule !== "other") return false;
  if (
    "learningRate" in value &&
    !(Number.isFinite(value.learningRate) && (value.learningRate as number) >= 0)
  )
    return false;
  if (!isCount(value.movedWithoutGradient) || !everyEntry(value.fingerprint, isNumber))
    return false;
  return value.body === null ? "body" in value : everyEntry(value.body, isNumber);
}

/** Whether a value is a micro-batch the trace schema takes as it is. */
export function plainMicroBatch(value: unknown): boolean {
  if (!plainRecord(value, MICRO_BATCH_KEYS)) return false;
  if (!isCount(value.epoch) || !isCount(value.stepsBefore)) return false;
  if ("rank" in value && !isCount(value.rank)) return false;
  return everyEntry(value.samples, isCount);
}

/** Whether a value is a replica the trace schema takes as it is. */
export function plainReplica(value: unknown): boolean {
  if (!plainRecord(value, REPLICA_KEYS)) return false;
  const rank = value.rank;
  return isCount(rank) && (rank as number) >= 1 && everyEntry(value.steps, plainStep);
}
