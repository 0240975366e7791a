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

/** A flag's text as the value its field takes, or a usage error naming the flag. */
function flagValue(field: ScenarioField, raw: string | boolean): unknown {
  if (field.kind === "switch") return raw === true;
  const text = String(raw);
  if (field.kind === "choice") return text;
  if (field.kind === "counts") {
    if (/^\d+-\d+$/.test(text)) return text;
    if (/^\d+(,\d+)*$/.test(text)) return text.split(",").map(Number);
    throw new UsageError(
      `${field.flag}: expected whole numbers joined by commas (3,1,2) or a range (1-8), saw "${text}"`,
    );
  }
  if (!(field.kind === "integer" ? INTEGER_TEXT : NUMBER_TEXT).test(text))
    throw new UsageError(
      `${field.flag}: expected ${field.kind === "integer" ? "a whole number" : "a number"}, saw "${text}"`,
    );
  return Number(text);
}

const FLAG_OF = new Map(SCENARIO_FIELDS.map((f) => [f.key as string, f.flag]));

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
  if (!parsed.success)
    throw new UsageError(describeIssues(parsed.error, (key) => FLAG_OF.get(key) ?? key));
  return parsed.data;
}

/** A field as usage text shows it: `--dataset-size N`, `[--drop-last]`, `[--precision fp32|fp16|bf16]`. */
function usageOf(field: ScenarioField): string {
  const value =
    field.kind === "switch"
      ? ""
      : ` ${field.kind === "choice" ? (field.choices ?? []).join("|") : (field.symbol ?? "VALUE")}`;
  return field.optional ? `[${field.flag}${value}]` : `${field.flag}${value}`;
}

/** The scenario flags of `accumaudit check` in one line each of at most `width` characters. */
export function scenarioUsage(width = 92): string[] {
  const lines: string[] = [];
  for (const part of SCENARIO_FIELDS.map(usageOf)) {
    const last = lines[lines.length - 1];
    if (last !== undefined && last.length + part.length + 1 <= width)
      lines[lines.length - 1] = `${last} ${part}`;
    else lines.push(part);
  }
  return lines;
}

/** What each scenario flag means, with its default: the "Scenario" block of `check --help`. */
export function scenarioHelp(): string {
  const rows = SCENARIO_FIELDS.map((f) => {
    const name = usageOf(f).replace(/^\[|\]$/g, "");
    const when = f.optional
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

/** The scenario as `accumaudit check` flags: every required field, and the others that differ from their default. */
export function scenarioFlags(s: Scenario): string[] {
  return SCENARIO_FIELDS.flatMap((f) => {
    const value = s[f.key];
    if (f.optional && value === f.default) return [];
    if (f.kind === "switch") return value === true ? [f.flag] : [];
    return [f.flag, Array.isArray(value) ? value.join(",") : String(value)];
  });
}
