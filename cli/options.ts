import { BACKENDS, type Backend } from "../trainers/contract/trainer.js";
import { MAX_TIMER_MS } from "../trainers/external/worker-process.js";
import { UsageError } from "./usage-error.js";

/** Parsed flag values as node:util parseArgs returns them. */
export type FlagValues = Record<string, string | boolean | Array<string | boolean> | undefined>;

/** A flag's value as a number (plain decimal notation); undefined when absent. */
export function numberFlag(values: FlagValues, name: string): number | undefined {
  const raw = values[name];
  if (raw === undefined) return undefined;
  const text = String(raw);
  if (!/^-?(\d+\.?\d*|\.\d+)(e[-+]?\d+)?$/i.test(text))
    throw new UsageError(`--${name}: expected a number, saw "${raw}"`);
  return Number(text);
}

/** A flag's value as a whole number (plain decimal digits) within bounds; undefined when absent. */
export function integerFlag(
  values: FlagValues,
  name: string,
  min: number,
  max: number,
): number | undefined {
  const raw = values[name];
  if (raw === undefined) return undefined;
  if (!/^-?\d+(\.\d+)?$/.test(String(raw)))
    throw new UsageError(`--${name}: expected a whole number, saw "${raw}"`);
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min || value > max)
    throw new UsageError(`--${name}: expected a whole number from ${min} to ${max}, saw ${value}`);
  return value;
}

/** A flag's value checked against a list of choices. */
export function choiceFlag<T extends string>(
  values: FlagValues,
  name: string,
  choices: readonly T[],
): T | undefined {
  const raw = values[name];
  if (raw === undefined) return undefined;
  if (!choices.includes(raw as T))
    throw new UsageError(`--${name}: expected one of ${choices.join(", ")}, saw "${raw}"`);
  return raw as T;
}

/** Repeatable flag values, each checked against a list of choices. */
export function choiceList<T extends string>(
  values: FlagValues,
  name: string,
  choices: readonly T[],
): T[] {
  const raw = values[name];
  const list = raw === undefined ? [] : Array.isArray(raw) ? raw : [raw];
  return list.map((item) => choiceFlag({ [name]: item }, name, choices) as T);
}

/** The --backend flag. */
export function backendFlag(values: FlagValues): Backend | undefined {
  return choiceFlag(values, "backend", BACKENDS);
}

/**
 * The longest --timeout, in seconds: Node's timers hold at most 2^31 − 1 ms (about 24.8 days); a
 * longer delay fires after 1 ms, which would end every case at once with "no response".
 */
export const MAX_TIMEOUT_S = Math.floor(MAX_TIMER_MS / 1000);

/** The --timeout flag (seconds) in milliseconds. */
export function timeoutFlag(values: FlagValues): number | undefined {
  const seconds = numberFlag(values, "timeout");
  if (seconds === undefined) return undefined;
  if (!(seconds > 0 && seconds <= MAX_TIMEOUT_S))
    throw new UsageError(
      `--timeout: expected a positive number of seconds up to ${MAX_TIMEOUT_S} (about 24.8 days, the longest timer Node holds), saw ${seconds}`,
    );
  return seconds * 1000;
}

/** Flags shared by check and audit: how trainers run and where outcomes go. */
export const RUN_FLAGS = {
  backend: { type: "string" },
  python: { type: "string" },
  device: { type: "string" },
  timeout: { type: "string" },
  json: { type: "boolean" },
  report: { type: "string" },
  junit: { type: "string" },
  help: { type: "boolean", short: "h" },
} as const;

/**
 * Joins `--flag -5` into `--flag=-5`, so a negative number reaches validation (which names the
 * flag and the value) instead of being read as another option.
 */
export function joinNegativeValues(args: string[]): string[] {
  const out: string[] = [];
  for (let k = 0; k < args.length; k++) {
    const arg = args[k] ?? "";
    const next = args[k + 1];
    if (arg.startsWith("--") && !arg.includes("=") && next !== undefined && /^-\d/.test(next)) {
      out.push(`${arg}=${next}`);
      k++;
    } else out.push(arg);
  }
  return out;
}
