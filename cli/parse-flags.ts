import { type ParseArgsConfig, parseArgs } from "node:util";

type Options = NonNullable<ParseArgsConfig["options"]>;
type Parsed<T extends Options> = ReturnType<
  typeof parseArgs<{ options: T; strict: true; allowPositionals: false }>
>;

import { joinNegativeValues } from "./options.js";
import { UsageError } from "./usage-error.js";

/** The option a flag token names: `--dataset-size=8` and `--dataset-size` give `dataset-size`. */
function optionOf(token: string, options: Options): string | undefined {
  if (token.startsWith("--")) return token.slice(2).split("=")[0];
  if (/^-[a-zA-Z]$/.test(token))
    return Object.entries(options).find(([, o]) => o.short === token.slice(1))?.[0];
  return undefined;
}

/**
 * Parses command-line flags strictly: unknown flags, a flag without its value and a flag given
 * twice (unless it may repeat) are one-line usage errors naming the flag.
 */
export function parseFlags<const T extends Options>(args: string[], options: T): Parsed<T> {
  const joined = joinNegativeValues(args);
  const seen = new Set<string>();
  for (const token of joined) {
    const name = optionOf(token, options);
    if (name === undefined || !(name in options)) continue;
    if (seen.has(name) && !options[name]?.multiple)
      throw new UsageError(`--${name}: expected once, saw it twice`);
    seen.add(name);
  }
  try {
    return parseArgs({ args: joined, options, strict: true, allowPositionals: false });
  } catch (error) {
    const code = (error as { code?: string }).code ?? "";
    const message = error instanceof Error ? error.message : String(error);
    const flag = /'(-[-\w]+)/.exec(message)?.[1] ?? "";
    if (code === "ERR_PARSE_ARGS_INVALID_OPTION_VALUE")
      throw new UsageError(`${flag}: expected a value, saw none`);
    if (code === "ERR_PARSE_ARGS_UNKNOWN_OPTION")
      throw new UsageError(`${flag}: unknown flag (see --help)`);
    if (code === "ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL")
      throw new UsageError(
        `${/'([^']+)'/.exec(message)?.[1] ?? "argument"}: expected a flag, saw a bare argument`,
      );
    throw error;
  }
}
