import { describeIssues, type Scenario, ScenarioSchema } from "../trainers/contract/scenario.js";
import { SCENARIO_FIELDS, type ScenarioField } from "../trainers/contract/scenario-fields.js";
import type { FlagValues } from "./options.js";
import { UsageError } from "./usage-error.js";

/** The option name parseArgs knows a field by: its flag without the dashes. */
const optionName = (field: ScenarioField) => field.flag.replace(/^--/, "");

/** parseArgs options for every scenario field: a boolean for a switch, a string for the rest. */
export function scenarioOptions(): Record<string, { type: "string" | "boolean" }> {
  return Object.fromEntries(
    SCENARIO_FIELDS.map((f) => [
      optionName(f),
      { type: f.kind === "switch" ? "boolean" : "string" },
    ]),
  );
}

/** Plain decimal numbers (no exponent, hex or spaces) for whole-number fields; any decimal for the rest. */
const INTEGER_TEXT = /^-?\d+(\.\d+)?$/;
const NUMBER_TEXT = /^-?(\d+\.?\d*|\.\d+)(e[-+]?\d+)?$/i;

/** A whole number's digits as a number when they are one exactly (at most 2^53 − 1 away from 0). */
function exactly(digits: string): boolean {
  const whole = digits.replace(/\.\d*$/, "");
  return Number.isSafeInteger(Number(whole)) && BigInt(whole) === BigInt(Number(whole));
}

/** The whole numbers a field takes, in words: "whole numbers from 0 to 64", "false or a whole number from 0 to 4294967295". */
function wholeNumberWords(field: ScenarioField, many = false): string {
  const noun = many ? "whole numbers" : "a whole number";
  const range =
    field.min !== undefined && field.max !== undefined ? ` from ${field.min} to ${field.max}` : "";
  return `${field.takesFalse ? "false or " : ""}${noun}${range}`;
}

/**
 * A flag's text as the value its field takes, or a usage error naming the flag. Digits are read as
 * written: a whole number too large for a double to hold exactly is refused as out of range, never
 * rounded to another number first.
 */
function flagValue(field: ScenarioField, raw: string | boolean): unknown {
  if (field.kind === "switch") return raw === true;
  const text = String(raw);
  if (field.kind === "choice") return text;
  if (field.takesFalse && text === "false") return false;
  if (field.kind === "counts") {
    if (/^\d+-\d+$/.test(text)) return text;
    if (/^\d+(,\d+)*$/.test(text)) {
      const counts = text.split(",");
      const outside = counts.find(
        (count) =>
          !exactly(count) ||
          Number(count) < (field.min ?? 0) ||
          Number(count) > (field.max ?? Number.MAX_SAFE_INTEGER),
      );
      if (outside !== undefined)
        throw new UsageError(
          `${field.flag}: expected ${wholeNumberWords(field, true)}, saw ${outside}`,
        );
      return counts.map(Number);
    }
    throw new UsageError(
      `${field.flag}: expected whole numbers joined by commas (3,1,2) or a range (1-8), saw "${text}"`,
    );
  }
  if (!(field.kind === "integer" ? INTEGER_TEXT : NUMBER_TEXT).test(text))
    throw new UsageError(
      `${field.flag}: expected ${field.takesFalse ? "false or " : ""}${field.kind === "integer" ? "a whole number" : "a number"}, saw "${text}"`,
    );
  if (field.kind === "integer" && !exactly(text))
    throw new UsageError(`${field.flag}: expected ${wholeNumberWords(field)}, saw ${text}`);
  return Number(text);
}

const FLAGS = new Map(SCENARIO_FIELDS.map((f) => [f.key as string, f.flag]));
/** The flag of an issue's path: `lengths.0` (one loss-token count) is `--lengths`. */
const flagOf = (path: string) => FLAGS.get(path.split(".")[0] ?? path) ?? path;

/**
 * The scenario the flags describe, validated by {@link ScenarioSchema}; a bad or missing value is
 * a one-line usage error naming the flag.
 */
export function scenarioFromFlags(values: FlagValues): Scenario {
  const input: Record<string, unknown> = {};
  for (const field of SCENARIO_FIELDS) {
    const raw = values[optionName(field)];
    if (raw === undefined || raw === false) {
      if (!field.optional) throw new UsageError(`${field.flag}: required`);
      continue;
    }
    if (Array.isArray(raw)) throw new UsageError(`${field.flag}: expected one value`);
    input[field.key] = flagValue(field, raw);
  }
  const parsed = ScenarioSchema.safeParse(input);
  if (!parsed.success) throw new UsageError(describeIssues(parsed.error, flagOf));
  return parsed.data;
}

/** How usage text shows the fields: all optional (`audit` pins what is given), some repeatable. */
export interface UsageForm {
  allOptional?: boolean;
  /** Fields that may be given more than once, shown with `...`. */
  repeatable?: ReadonlySet<ScenarioField["key"]>;
}

/** A field as usage text shows it: `--dataset-size N`, `[--drop-last]`, `[--precision fp32|fp16|bf16]`. */
function usageOf(field: ScenarioField, form: UsageForm = {}): string {
  const value =
    field.kind === "switch"
      ? ""
      : ` ${field.kind === "choice" ? (field.choices ?? []).join("|") : (field.symbol ?? "VALUE")}`;
  const repeat = form.repeatable?.has(field.key) ? "..." : "";
  return field.optional || form.allOptional
    ? `[${field.flag}${value}]${repeat}`
    : `${field.flag}${value}`;
}

/** The scenario flags of `accumaudit check` in one line each of at most `width` characters. */
export function scenarioUsage(width = 92, form: UsageForm = {}): string[] {
  const lines: string[] = [];
  for (const part of SCENARIO_FIELDS.map((f) => usageOf(f, form))) {
    const last = lines[lines.length - 1];
    if (last !== undefined && last.length + part.length + 1 <= width)
      lines[lines.length - 1] = `${last} ${part}`;
    else lines.push(part);
  }
  return lines;
}

/**
 * What each scenario flag means, with its default: the "Scenario" block of `check --help`. With
 * `pinning`, as `audit --help` shows it: nothing is required, and what is not given is drawn.
 */
export function scenarioHelp(pinning = false): string {
  const rows = SCENARIO_FIELDS.map((f) => {
    const name = usageOf(f).replace(/^\[|\]$/g, "");
    const when = pinning
      ? ""
      : f.optional
        ? f.kind === "switch"
          ? ""
          : f.default === undefined
            ? ""
            : ` (default ${f.default === false ? "off" : String(f.default)})`
        : " (required)";
    return [name, `${f.description}${when}`] as const;
  });
  const width = Math.max(...rows.map(([name]) => name.length));
  return rows.map(([name, text]) => `  ${name.padEnd(width)}  ${text}`).join("\n");
}

/** One field's value as its flag (and the value's text): nothing for a switch that is off. */
function fieldFlags(field: ScenarioField, value: unknown): string[] {
  if (field.kind === "switch") return value === true ? [field.flag] : [];
  return [field.flag, Array.isArray(value) ? value.join(",") : String(value)];
}

/** The scenario as `accumaudit check` flags: every required field, and the others that differ from their default. */
export function scenarioFlags(s: Scenario): string[] {
  return SCENARIO_FIELDS.flatMap((f) => {
    const value = s[f.key];
    if (f.optional && value === f.default) return [];
    return fieldFlags(f, value);
  });
}

/** Pinned fields as the flags that pin them, in schema order (a pin at its default included). */
export function pinFlags(pins: Partial<Scenario>): string[] {
  return SCENARIO_FIELDS.flatMap((f) =>
    pins[f.key] === undefined ? [] : fieldFlags(f, pins[f.key]),
  );
}

/**
 * The scenario fields given as flags, for `audit` to pin: each value validated by its field's
 * schema, then together by {@link ScenarioSchema}'s rules across fields (a required field left
 * out taken at its smallest), each problem a one-line usage error naming the flag as `check`
 * gives it. A field of `lists` given more than once is a list to draw from, not a pin: it is
 * left out. The model and the loss-token counts are checked against a weighting only when the
 * weighting is pinned too (a list of weightings is the command's to check).
 */
export function pinsFromFlags(
  values: FlagValues,
  lists: ReadonlySet<ScenarioField["key"]> = new Set(),
): Partial<Scenario> {
  const pins: Record<string, unknown> = {};
  for (const field of SCENARIO_FIELDS) {
    let raw = values[optionName(field)];
    if (Array.isArray(raw)) {
      if (raw.length > 1 && lists.has(field.key)) continue;
      if (raw.length > 1) throw new UsageError(`${field.flag}: expected one value`);
      raw = raw[0];
    }
    if (raw === undefined || raw === false) continue;
    const parsed = ScenarioSchema.shape[field.key].safeParse(flagValue(field, raw));
    if (!parsed.success)
      throw new UsageError(
        `${field.flag}: ${parsed.error.issues.map((i) => i.message).join("; ")}`,
      );
    pins[field.key] = parsed.data;
  }
  // The rules across fields, on the pins with the required fields at their smallest; the model
  // and the loss-token counts are held to a weighting only when it is pinned too.
  const counts = Array.isArray(pins.lengths) ? pins.lengths.length : 1;
  const { model, ...rest } = pins;
  const probe = {
    datasetSize: counts,
    batchSize: 1,
    accumulation: 1,
    ...(pins.weighting === undefined
      ? { ...rest, ...(pins.lengths === undefined ? {} : { weighting: "tokens" }) }
      : pins),
  };
  assertScenarioRules(probe);
  return pins as Partial<Scenario>;
}

/** Checks a scenario against {@link ScenarioSchema}; a problem is a one-line usage error naming the flags. */
export function assertScenarioRules(input: unknown): void {
  const parsed = ScenarioSchema.safeParse(input);
  if (!parsed.success) throw new UsageError(describeIssues(parsed.error, flagOf));
}
