import { z } from "zod";
import { type Scenario, ScenarioSchema } from "./scenario.js";

/** A scenario field's name. */
export type ScenarioKey = keyof Scenario;

/**
 * How a field's value is written: a switch (present or not), a whole number, a number, a word,
 * or whole numbers joined by commas or a range A-B (`counts`).
 */
export type ScenarioFieldKind = "switch" | "integer" | "number" | "choice" | "counts";

/** What {@link ScenarioSchema} says about one field, read off its schema and metadata. */
export interface ScenarioField {
  key: ScenarioKey;
  /** Command-line flag, e.g. `--dataset-size`. */
  flag: string;
  /** Placeholder of the flag's value and short name in labels, e.g. `N`; absent for switches and words. */
  symbol?: string;
  /** What people call it, e.g. "dataset size". */
  label: string;
  description: string;
  kind: ScenarioFieldKind;
  /** The words a choice accepts. */
  choices?: readonly string[];
  /** True when the field may be left out. */
  optional: boolean;
  /** The value a left-out field takes (absent for a field that stays unset). */
  default?: Scenario[ScenarioKey];
}

function kindOf(schema: z.ZodType): Pick<ScenarioField, "kind" | "choices"> {
  if (schema instanceof z.ZodBoolean) return { kind: "switch" };
  if (schema instanceof z.ZodNumber) return { kind: schema.isInt ? "integer" : "number" };
  if (schema instanceof z.ZodEnum) return { kind: "choice", choices: schema.options as string[] };
  // A union such as `false | seed`: written as its numeric member; left out, it is its default.
  if (schema instanceof z.ZodUnion) {
    if ((schema.options as z.ZodType[]).some((o) => o instanceof z.ZodArray))
      return { kind: "counts" };
    const number = (schema.options as z.ZodType[]).find((o) => o instanceof z.ZodNumber);
    if (number) return kindOf(number);
  }
  throw new Error(`scenario schema: no command-line form for a ${schema.def.type} field`);
}

function describeField(key: ScenarioKey, outer: z.ZodType): ScenarioField {
  const meta = outer.meta() ?? {};
  if (!meta.flag || !meta.label || !meta.description)
    throw new Error(`scenario schema: field ${key} needs a flag, a label and a description`);
  const inner =
    outer instanceof z.ZodDefault || outer instanceof z.ZodOptional
      ? (outer.unwrap() as z.ZodType)
      : outer;
  return {
    key,
    flag: meta.flag,
    ...(meta.symbol ? { symbol: meta.symbol } : {}),
    label: meta.label,
    description: meta.description,
    ...kindOf(inner),
    optional: outer instanceof z.ZodDefault || outer instanceof z.ZodOptional,
    ...(outer instanceof z.ZodDefault
      ? { default: (outer as z.ZodDefault<z.ZodType>).def.defaultValue as Scenario[ScenarioKey] }
      : {}),
  };
}

/** Every scenario field in schema order, with its flag, label, kind and default. */
export const SCENARIO_FIELDS: readonly ScenarioField[] = Object.entries(ScenarioSchema.shape).map(
  ([key, schema]) => describeField(key as ScenarioKey, schema as z.ZodType),
);

/** The field with this name. */
export function scenarioField(key: ScenarioKey): ScenarioField {
  const field = SCENARIO_FIELDS.find((f) => f.key === key);
  if (!field) throw new Error(`scenario schema: no field ${key}`);
  return field;
}

/**
 * The scenario schema as JSON Schema (draft 2020-12), every field required as the harness sends
 * it (defaults filled) and its metadata (flag, label, description) kept; external workers
 * validate run requests against it.
 */
export function scenarioJsonSchema(): Record<string, unknown> {
  return z.toJSONSchema(ScenarioSchema, { io: "output" }) as Record<string, unknown>;
}
