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
 * The first word a strict parse refuses: an unknown option as written (`--é`, `--x` of `--x=1`,
 * the word `-xy`), else the first bare argument.
 */
function refusedWord(args: string[], options: Options): string | undefined {
  const { tokens } = parseArgs({
    args,
    options,
    strict: false,
    allowPositionals: true,
    tokens: true,
  });
  for (const token of tokens) {
    // A short option is one UTF-16 unit of its word (`-xy`, or half of `-😀`): the word names it.
    if (token.kind === "option" && !Object.hasOwn(options, token.name))
      return token.rawName.startsWith("--") ? token.rawName : args[token.index];
    if (token.kind === "positional") return token.value;
  }
  return undefined;
}

/** Most flags an unknown-flag error lists; a command with more points to its --help. */
const FLAGS_LISTED = 6;

/** What an unknown flag could have been: "; expected --json or --help", or " (see --help)". */
function knownFlags(options: Options): string {
  const names = Object.keys(options).map((name) => `--${name}`);
  const last = names.pop();
  if (last === undefined || names.length >= FLAGS_LISTED) return " (see --help)";
  return `; expected ${names.length > 0 ? `${names.join(", ")} or ` : ""}${last}`;
}

/**
 * Parses command-line flags strictly: unknown flags, a flag without its value, a switch given a
 * value and a flag given twice (unless it may repeat) are one-line usage errors naming the flag.
 */
export function parseFlags<const T extends Options>(args: string[], options: T): Parsed<T> {
  const joined = joinNegativeValues(args);
  const seen = new Set<string>();
  for (const token of joined) {
    const name = optionOf(token, options);
    // Own keys only: `--constructor` is no flag, whatever Object.prototype holds.
    if (name === undefined || !Object.hasOwn(options, name)) continue;
    if (seen.has(name) && !options[name]?.multiple)
      throw new UsageError(`--${name}: expected once, saw it twice`);
    seen.add(name);
  }
  try {
    return parseArgs({ args: joined, options, strict: true, allowPositionals: false });
  } catch (error) {
    const code = (error as { code?: string }).code ?? "";
    const message = error instanceof Error ? error.message : String(error);
    // "Option '-d, --drop-last' does not take an argument": the long name, when there is one.
    const flag = /'(?:-\w, )?(-[-\w]+)/.exec(message)?.[1] ?? "";
    const name = flag.replace(/^--/, "");
    if (code === "ERR_PARSE_ARGS_INVALID_OPTION_VALUE" && options[name]?.type === "boolean") {
      const given = joined.find((token) => token.startsWith(`${flag}=`))?.slice(flag.length + 1);
      throw new UsageError(
        `${flag}: expected no value (a switch: ${flag} turns it on, leaving it out keeps it off), saw ${JSON.stringify(given ?? "a value")}`,
      );
    }
    if (code === "ERR_PARSE_ARGS_INVALID_OPTION_VALUE")
      throw new UsageError(`${flag}: expected a value, saw none`);
    // The word refused, as given (parseArgs's message quotes it, and a quote inside cuts it short).
    const refused = refusedWord(joined, options);
    if (code === "ERR_PARSE_ARGS_UNKNOWN_OPTION")
      throw new UsageError(`${refused ?? flag}: unknown flag${knownFlags(options)}`);
    if (code === "ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL")
      throw new UsageError(
        `${refused === "" ? '""' : (refused ?? "argument")}: expected a flag, saw a bare argument`,
      );
    throw error;
  }
}
