import type { TrainerAuditOutcome } from "../properties/outcome.js";
import type { SampleSet } from "../properties/sample-set.js";
import { DEFAULT_LENGTHS, type Scenario, WEIGHTINGS } from "../trainers/contract/scenario.js";
import { scenarioField } from "../trainers/contract/scenario-fields.js";
import type { TrainerInfo } from "../trainers/contract/trace.js";
import { printable } from "./printable.js";
import type { RunMeta } from "./reporter.js";

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

/**
 * A weight due to `units` of a window's loss units as "n/T" ("2/3", "3/58") when it is one, T
 * a whole number; else as {@link formatWeight} writes it.
 */
export function formatShare(units: number, weight: number): string {
  if (units > 0 && weight > 0 && Number.isFinite(weight)) {
    const total = Math.round(units / weight);
    if (total >= 1 && Math.abs(units / total - weight) <= 1e-9 * weight) return `${units}/${total}`;
  }
  return formatWeight(weight);
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

/** What each weighting counts the same, as every output names the weighting checked. */
export const WEIGHTING_WORDS: Record<Scenario["weighting"], string> = {
  samples: "samples (each sample counts the same)",
  tokens: "loss tokens (each loss token counts the same)",
};

/**
 * The weightings an audit checked: those its metadata names, else those of the scenarios its
 * outcomes hold, in the order {@link WEIGHTINGS} lists them.
 */
export function runWeightings(
  meta: Pick<RunMeta, "weighting">,
  audits: readonly TrainerAuditOutcome[],
): Array<Scenario["weighting"]> {
  const scenarios = audits.flatMap((a) => [
    ...a.regressions.map((r) => r.scenario),
    ...(a.search.kind === "refuted" ? [a.search.counterexample.check.scenario] : []),
    ...(a.search.kind === "error" ? [a.search.check.scenario] : []),
  ]);
  const named = new Set(meta.weighting?.split(/,\s*/) ?? scenarios.map((s) => s.weighting));
  return WEIGHTINGS.filter((w) => named.has(w));
}

/** The weightings a run checked, in words: "samples (each sample counts the same)", "samples and loss tokens". */
export function weightingsText(weightings: ReadonlyArray<Scenario["weighting"]>): string {
  const [only] = weightings;
  if (weightings.length === 1 && only) return WEIGHTING_WORDS[only];
  return formatList(weightings.map((w) => WEIGHTING_WORDS[w].replace(/ \(.*\)$/, "")));
}

/**
 * Whole numbers as a short list: "3, 1, 2"; after `limit` of them the rest is counted:
 * "3, 1, 2, 5 and 96 more". `separator` joins them (", " for prose, "," as a flag writes them).
 */
export function formatCounts(counts: readonly number[], limit = 8, separator = ", "): string {
  const shown = counts.slice(0, limit).join(separator);
  const more = counts.length - Math.min(limit, counts.length);
  return more > 0 ? `${shown} and ${more.toLocaleString("en-US")} more` : shown;
}

/** Words joined as prose: "a", "a and b", "a, b and c"; after `limit` of them the rest is counted. */
export function formatList(items: readonly string[], limit = Number.POSITIVE_INFINITY): string {
  const shown = items.slice(0, limit);
  const more = items.length - shown.length;
  if (more > 0) return `${shown.join(", ")} and ${more.toLocaleString("en-US")} more`;
  return shown.length <= 1
    ? (shown[0] ?? "")
    : `${shown.slice(0, -1).join(", ")} and ${shown[shown.length - 1]}`;
}

/**
 * A token-weighted scenario's loss-token setting as its flag takes it, long lists cut: "1,2",
 * "1-8" (a range drawn from the data seed; the default when none was given) or
 * "3,1,2,5,1,2,3,1 and 92 more".
 */
export function lengthsText(s: Scenario): string {
  const lengths = s.lengths ?? DEFAULT_LENGTHS;
  return typeof lengths === "string" ? lengths : formatCounts(lengths, 8, ",");
}

/**
 * The scenario's shape as `N/B/K xE`, e.g. `110/8/4 x2` (`50/4/3 5 steps with replacement` for a
 * run that draws with replacement), then what differs from the defaults
 * among shuffle, drop_last, precision, body and weighting: `1000/16/4 x3 shuffled`,
 * `2/1/2 x1 tokens 1,2`.
 */
export function scenarioShape(s: Scenario): string {
  const extras = [
    s.shuffle === false ? null : "shuffled",
    s.dropLast ? scenarioField("dropLast").label : null,
    s.precision === scenarioField("precision").default ? null : s.precision,
    s.model === scenarioField("model").default ? null : s.model,
    s.weighting === "tokens" ? `tokens ${lengthsText(s)}` : null,
    ...stepSemanticsWords(s),
  ].filter((x) => x !== null);
  const ranks = s.worldSize > 1 ? [`on ${s.worldSize} ranks`] : [];
  // A run that draws with replacement has steps, not epochs.
  const length =
    s.sampling === "replacement"
      ? ` ${plural(s.steps ?? 0, "step")} with replacement`
      : ` x${s.epochs}`;
  return [`${s.datasetSize}/${s.batchSize}/${s.accumulation}${length}`, ...ranks, ...extras].join(
    " ",
  );
}

/**
 * The step semantics a scenario sets, a few words each: "clip 1", "cosine LR, 2 warm-up",
 * "EMA 0.9", "adamw", "overflow window 3".
 */
export function stepSemanticsWords(s: Scenario): string[] {
  const words: string[] = [];
  if (s.clipNorm !== undefined) words.push(`clip ${s.clipNorm}`);
  if (s.schedule !== "constant" || s.warmupSteps > 0)
    words.push(`${s.schedule} LR${s.warmupSteps > 0 ? `, ${s.warmupSteps} warm-up` : ""}`);
  if (s.ema !== undefined) words.push(`EMA ${s.ema}`);
  if (s.optimizer !== "sgd") words.push(s.optimizer);
  if (s.overflowStep !== undefined) words.push(`overflow window ${s.overflowStep}`);
  return words;
}

/**
 * A scenario in a few words: "N 110 · B 8 · K 4 · 2 epochs" ("· W 2" before the epochs for
 * several ranks; "5 steps drawn with replacement" instead of the epochs for such a run), then each other field that differs from its default ("drop_last", "shuffle 3",
 * "fp16", "mlp body", "weighting tokens · loss tokens 1,2").
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
  if (s.weighting !== scenarioField("weighting").default)
    extras.push(`${scenarioField("weighting").label} ${s.weighting}`);
  if (s.weighting === "tokens") extras.push(`${scenarioField("lengths").label} ${lengthsText(s)}`);
  extras.push(...stepSemanticsWords(s));
  return [
    symbol("datasetSize"),
    symbol("batchSize"),
    symbol("accumulation"),
    ...(s.worldSize > 1 ? [`${scenarioField("worldSize").symbol} ${s.worldSize}`] : []),
    s.sampling === "replacement"
      ? `${plural(s.steps ?? 0, "step")} drawn with replacement`
      : plural(s.epochs, "epoch"),
    ...extras,
  ].join(" · ");
}

/**
 * What ran a trainer: "tensorflow.js 4.22.0", "lightning 2.6.6"; "built-in" when unknown. The
 * trainer names these itself, so they are shown {@link printable}.
 */
export function frameworkLabel(info: TrainerInfo | undefined): string {
  if (!info?.framework) return "built-in";
  return printable([info.framework, info.frameworkVersion].filter(Boolean).join(" "));
}

/**
 * The precision a check asked for and the one that ran, when they differ or the forward passes ran
 * several: "asked fp16, ran fp32", "asked fp32, ran bf16 and fp32" (the first is the one its
 * tolerance follows); null when it ran as asked.
 */
export function precisionWords(
  asked: Scenario["precision"],
  info: TrainerInfo | undefined,
): string | null {
  const ran = info?.forwardPrecisions ?? [info?.precision ?? asked];
  if (ran.length === 1 && ran[0] === asked) return null;
  return `asked ${asked}, ran ${ran.join(" and ")}`;
}

/**
 * A trainer with what ran it and, given the precision the check asked for, what ran when that
 * differs: "python:lightning (lightning 2.6.6, asked fp16, ran bf16)". An audit's label, which
 * spans several checks, is given no precision and names the framework only.
 */
export function trainerLabel(
  trainer: string,
  info: TrainerInfo | undefined,
  asked?: Scenario["precision"],
): string {
  const precision = asked === undefined ? null : precisionWords(asked, info);
  const parts = [info?.framework ? frameworkLabel(info) : null, precision].filter(Boolean);
  const name = printable(trainer);
  return parts.length === 0 ? name : `${name} (${parts.join(", ")})`;
}
