import type { SampleSet } from "../properties/sample-set.js";
import type { Scenario } from "../trainers/contract/scenario.js";
import { scenarioField } from "../trainers/contract/scenario-fields.js";
import type { TrainerInfo } from "../trainers/contract/trace.js";

/** A number for people: 4 significant digits, exponent form when tiny or huge. */
export function formatNumber(value: number): string {
  if (Number.isNaN(value)) return "NaN";
  if (!Number.isFinite(value)) return value > 0 ? "∞" : "−∞";
  if (value === 0) return "0";
  const magnitude = Math.abs(value);
  if (magnitude < 1e-3 || magnitude >= 1e6) return Number(value.toPrecision(3)).toExponential();
  return String(Number(value.toPrecision(4)));
}

/** A weight, as 1/n when it is the reciprocal of a whole number (1/416), else as a number. */
export function formatWeight(weight: number): string {
  if (weight > 0 && Number.isFinite(weight)) {
    const n = 1 / weight;
    const whole = Math.round(n);
    if (whole >= 1 && Math.abs(n - whole) <= 1e-6 * n) return `1/${whole}`;
  }
  return formatNumber(weight);
}

/** How much larger or smaller `actual` is than `expected`, e.g. "17.3% bigger". */
export function formatChange(actual: number, expected: number): string {
  if (expected === 0) return actual === 0 ? "the same" : "applied where nothing was due";
  const change = actual / expected - 1;
  const percent = Math.abs(change * 100);
  const shown = percent >= 10 ? percent.toFixed(1) : percent.toPrecision(2);
  if (Math.abs(change) < 1e-12) return "the same";
  return `${shown}% ${change > 0 ? "bigger" : "smaller"}`;
}

/**
 * Sample ids as ranges: 96..109 gives "96–109"; after `limit` ranges the rest is counted:
 * "686, 935 and 10 more".
 */
export function formatSampleSet(set: SampleSet, limit = 6): string {
  const shownRanges = set.ranges.slice(0, limit);
  const shown = shownRanges.map(([a, b]) => (a === b ? `${a}` : `${a}–${b}`));
  const shownIds = shownRanges.reduce((n, [a, b]) => n + b - a + 1, 0);
  const more = set.count - shownIds;
  return more > 0
    ? `${shown.join(", ")} and ${more.toLocaleString("en-US")} more`
    : shown.join(", ");
}

/**
 * A 0-based step, epoch, window or micro-batch index as people count it (from 1). Sample ids
 * stay 0-based: they are ids, not counts.
 */
export function nth(index: number): number {
  return index + 1;
}

/** "1 sample", "14 samples"; `many` names the plural when it is not `noun` + "s" ("micro-batches"). */
export function plural(count: number, noun: string, many = `${noun}s`): string {
  return `${count.toLocaleString("en-US")} ${count === 1 ? noun : many}`;
}

/** The verb "to be" in the past, agreeing with a count: "1 sample was", "2 samples were". */
export function wasWere(count: number): "was" | "were" {
  return count === 1 ? "was" : "were";
}

/** A first–last range of positions numbered from 1: "micro-batch 3" or "micro-batches 3–4". */
export function positionRange(
  first: number,
  last: number,
  noun: string,
  many = `${noun}s`,
): string {
  return first === last ? `${noun} ${nth(first)}` : `${many} ${nth(first)}–${nth(last)}`;
}

/** "step 4 (epoch 2)": a step and the epoch it was taken in, numbered from 1. */
export function stepName(step: number, epoch: number): string {
  return `step ${nth(step)} (epoch ${nth(epoch)})`;
}

/**
 * The scenario's shape as `N/B/K xE`, e.g. `110/8/4 x2`, then what differs from the defaults
 * among shuffle, drop_last, precision and body: `1000/16/4 x3 shuffled`.
 */
export function scenarioShape(s: Scenario): string {
  const extras = [
    s.shuffle === false ? null : "shuffled",
    s.dropLast ? scenarioField("dropLast").label : null,
    s.precision === scenarioField("precision").default ? null : s.precision,
    s.model === scenarioField("model").default ? null : s.model,
  ].filter((x) => x !== null);
  const ranks = s.worldSize > 1 ? [`on ${s.worldSize} ranks`] : [];
  return [
    `${s.datasetSize}/${s.batchSize}/${s.accumulation} x${s.epochs}`,
    ...ranks,
    ...extras,
  ].join(" ");
}

/**
 * A scenario in a few words: "N 110 · B 8 · K 4 · 2 epochs" ("· W 2" before the epochs for
 * several ranks), then each other field that differs from its default ("drop_last", "shuffle 3",
 * "fp16", "mlp body").
 */
export function scenarioLabel(s: Scenario): string {
  const symbol = (key: "datasetSize" | "batchSize" | "accumulation") =>
    `${scenarioField(key).symbol} ${s[key]}`;
  const extras: string[] = [];
  if (s.dropLast) extras.push(scenarioField("dropLast").label);
  if (s.shuffle !== false) extras.push(`${scenarioField("shuffle").label} ${s.shuffle}`);
  if (s.precision !== scenarioField("precision").default) extras.push(s.precision);
  if (s.model !== scenarioField("model").default) extras.push(`${s.model} body`);
  if (s.dataSeed !== scenarioField("dataSeed").default)
    extras.push(`${scenarioField("dataSeed").label} ${s.dataSeed}`);
  if (s.learningRate !== scenarioField("learningRate").default)
    extras.push(`${scenarioField("learningRate").label} ${s.learningRate}`);
  return [
    symbol("datasetSize"),
    symbol("batchSize"),
    symbol("accumulation"),
    ...(s.worldSize > 1 ? [`${scenarioField("worldSize").symbol} ${s.worldSize}`] : []),
    plural(s.epochs, "epoch"),
    ...extras,
  ].join(" · ");
}

/** What ran a trainer: "tensorflow.js 4.22.0", "lightning 2.6.6"; "built-in" when unknown. */
export function frameworkLabel(info: TrainerInfo | undefined): string {
  if (!info?.framework) return "built-in";
  return [info.framework, info.frameworkVersion].filter(Boolean).join(" ");
}

/** A trainer with what ran it and, when it ran another precision, which: "python:lightning (lightning 2.6.6, ran bf16)". */
export function trainerLabel(trainer: string, info: TrainerInfo | undefined): string {
  if (!info?.framework) return trainer;
  const ran = info.precision ? `, ran ${info.precision}` : "";
  return `${trainer} (${frameworkLabel(info)}${ran})`;
}
