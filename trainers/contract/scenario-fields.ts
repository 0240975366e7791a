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
  /** The smallest and largest value of a number (of each count, for `counts`), when bounded. */
  min?: number;
  max?: number;
  /** True when the field also takes `false` (off), as `shuffle` does beside a seed. */
  takesFalse?: boolean;
  /** True when the field may be left out. */
  optional: boolean;
  /** The value a left-out field takes (absent for a field that stays unset). */
  default?: Scenario[ScenarioKey];
}

type FieldForm = Pick<ScenarioField, "kind" | "choices" | "min" | "max" | "takesFalse">;

/** A number's bounds, those that are finite. */
function boundsOf(schema: z.ZodNumber): Pick<ScenarioField, "min" | "max"> {
  const finite = (value: number | null) => value !== null && Number.isFinite(value);
  return {
    ...(finite(schema.minValue) ? { min: schema.minValue as number } : {}),
    ...(finite(schema.maxValue) ? { max: schema.maxValue as number } : {}),
  };
}

function kindOf(schema: z.ZodType): FieldForm {
  if (schema instanceof z.ZodBoolean) return { kind: "switch" };
  if (schema instanceof z.ZodNumber)
    return { kind: schema.isInt ? "integer" : "number", ...boundsOf(schema) };
  if (schema instanceof z.ZodEnum) return { kind: "choice", choices: schema.options as string[] };
  // A union such as `false | seed`: written as its numeric member or `false`; left out, it is its
  // default. A union holding a list of counts is written as counts (or a range).
  if (schema instanceof z.ZodUnion) {
    const options = schema.options as z.ZodType[];
    const list = options.find((o): o is z.ZodArray<z.ZodType> => o instanceof z.ZodArray);
    if (list)
      return {
        kind: "counts",
        ...(list.element instanceof z.ZodNumber ? boundsOf(list.element) : {}),
      };
    const number = options.find((o) => o instanceof z.ZodNumber);
    const takesFalse = options.some((o) => o instanceof z.ZodLiteral && o.values.has(false));
    if (number) return { ...kindOf(number), ...(takesFalse ? { takesFalse } : {}) };
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
