import { accessSync, constants, realpathSync } from "node:fs";
import { basename, delimiter, dirname, isAbsolute, relative, resolve } from "node:path";
import { escapeCharacter, isPrintable } from "../reports/printable.js";
import type { ReplayCommand } from "../reports/reporter.js";
import type { Backend } from "../trainers/contract/trainer.js";
import { scenarioFlags } from "./scenario-flags.js";

/**
 * A word as a POSIX shell reads it back: bare when safe, else in single quotes; a word holding a
 * control character, line break or bidirectional override in `$'...'` with that character escaped
 * (`$'a\x1bb'`), so that the command stays one line that prints safely and still runs.
 */
export function shellWord(word: string): string {
  if (/^[\w@%+=:,./-]+$/.test(word)) return word;
  if (isPrintable(word)) return `'${word.replaceAll("'", `'\\''`)}'`;
  return `$'${[...word].map(dollarQuoted).join("")}'`;
}

/** One character inside `$'...'`: quotes and backslashes escaped, unsafe characters as `\xHH` or `\uHHHH`. */
function dollarQuoted(character: string): string {
  if (character === "'" || character === "\\") return `\\${character}`;
  if (isPrintable(character)) return character;
  const code = character.codePointAt(0) ?? 0;
  // \xHH writes a byte: a character above ASCII is written by its code point instead.
  return code < 0x80 ? escapeCharacter(character) : `\\u${code.toString(16).padStart(4, "0")}`;
}

/** How the command line was started: the script node ran, from where, with which environment. */
export interface Invocation {
  /** The script as node was given it (process.argv[1]): absolute, symlinks kept. */
  script: string | undefined;
  cwd: string;
  env: Readonly<Record<string, string | undefined>>;
}

/** This process's invocation. */
export function currentInvocation(): Invocation {
  return { script: process.argv[1], cwd: process.cwd(), env: process.env };
}

/**
 * The words that start accumaudit the way this run was started, typed from the same folder:
 * `accumaudit` when the script is the `accumaudit` bin that PATH finds first (a global install);
 * `npx accumaudit` for the bin of a package installed in a project that holds the folder; else
 * `node` and the script's path (relative when it lies below the folder, as `node dist/cli/main.js`
 * in a checkout).
 */
export function programWords({ script, cwd, env }: Invocation): string[] {
  if (!script) return ["accumaudit"];
  const bin = dirname(script);
  if (basename(bin) === ".bin" && basename(dirname(bin)) === "node_modules") {
    if (below(cwd, dirname(dirname(bin)))) return ["npx", "accumaudit"];
  } else if (
    basename(script) === "accumaudit" &&
    sameFile(onPath("accumaudit", env.PATH, cwd), script)
  )
    return ["accumaudit"];
  const shown = relative(cwd, script);
  return ["node", below(script, cwd) && shown !== "" ? shown : script];
}

/** Whether `path` is `folder` or lies below it. */
function below(path: string, folder: string): boolean {
  const up = relative(folder, path);
  return up === "" || (!up.startsWith("..") && !isAbsolute(up));
}

/** The first executable `name` in the PATH's folders, as a shell finds it. */
function onPath(name: string, path: string | undefined, cwd: string): string | undefined {
  for (const folder of (path ?? "").split(delimiter)) {
    const file = resolve(cwd, folder, name);
    try {
      accessSync(file, constants.X_OK);
      return file;
    } catch {}
  }
  return undefined;
}

function sameFile(a: string | undefined, b: string): boolean {
  try {
    return a !== undefined && realpathSync(a) === realpathSync(b);
  } catch {
    return false;
  }
}

/**
 * The variables a Python trainer's worker reads that a replay sets again, each with when: the
 * module path a `python:MODULE:FUNCTION` trainer is imported from, the interpreter when --python
 * does not name it, and the two that API.md tells users to set for their trainer.
 */
const WORKER_ENV: ReadonlyArray<{ name: string; when: (trainer: string, run: Replay) => boolean }> =
  [
    { name: "PYTHONPATH", when: (trainer) => trainer.slice("python:".length).includes(":") },
    { name: "ACCUMAUDIT_PYTHON", when: (_, run) => run.python === undefined },
    { name: "KERAS_BACKEND", when: () => true },
    { name: "CUDA_VISIBLE_DEVICES", when: (_, run) => run.device === "cuda" },
  ];

/** What a replay command repeats of the run that printed it. */
export interface Replay {
  /** How accumaudit is started (default `accumaudit`): see {@link programWords}. */
  program?: readonly string[];
  /** The run's environment: a Python trainer's replay sets the variables its worker reads again. */
  env?: Readonly<Record<string, string | undefined>>;
  backend?: Backend;
  python?: string;
  device?: "cpu" | "cuda";
  /** --timeout as the run was given it, when that was not the default. */
  timeout?: string;
}

/**
 * The `accumaudit check` command that replays a trainer on a scenario as the run did: started the
 * same way, with the run flags that apply to that trainer (--backend to a built-in one; --python,
 * --device and --timeout to a python: one, after the worker's environment variables that were set).
 */
export function replayCommand(run: Replay = {}): ReplayCommand {
  const program = run.program ?? ["accumaudit"];
  return (trainer, scenario) => {
    const python = trainer.startsWith("python:");
    const env = python
      ? WORKER_ENV.filter(({ name, when }) => run.env?.[name] && when(trainer, run)).map(
          ({ name }) => `${name}=${shellWord(run.env?.[name] ?? "")}`,
        )
      : [];
    const flags = python
      ? [
          ...(run.python ? ["--python", run.python] : []),
          ...(run.device ? ["--device", run.device] : []),
          ...(run.timeout ? ["--timeout", run.timeout] : []),
        ]
      : run.backend
        ? ["--backend", run.backend]
        : [];
    const words = [...program, "check", "--trainer", trainer, ...scenarioFlags(scenario), ...flags];
    return [...env, ...words.map(shellWord)].join(" ");
  };
}
