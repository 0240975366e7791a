import { chmodSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { locatePython } from "../trainers/external/interpreter.js";
import {
  caseMarker,
  describeWords,
  fuzzParameters,
  leftAfter,
  outputProblems,
  startCli,
  type Word,
} from "./support/fuzz-cli.js";
import { hostileWord, invalidUtf8Word } from "./support/hostile.js";

// Bad flags, fuzzed (issue 25, item 8): random flags, values, duplicates and `--flag=value`
// forms for list, check and audit of the built-in trainers on small scenarios, hostile strings in
// flag values and trainer names. Each case: an exit code of 0, 1 or 2; outputs without a raw
// control character or a stack trace; a usage error is one `accumaudit: ...` line with nothing on
// stdout and no file written; --json gives JSON; no process is left.

const BUILT_IN = ["reference", "docs-loop", "tail-step", "two-loop", "k-plus-one"];

/** Values a flag takes, valid ones small enough that a run stays short. */
const VALID: Record<string, string[]> = {
  "dataset-size": ["1", "4", "8", "13", "16"],
  "batch-size": ["1", "2", "3", "8"],
  accumulation: ["1", "2", "4"],
  "world-size": ["1", "2"],
  epochs: ["1", "2", "3"],
  sampling: ["epochs", "replacement"],
  steps: ["1", "3"],
  shuffle: ["false", "0", "7"],
  precision: ["fp32", "fp16", "bf16"],
  model: ["fingerprint", "logistic", "mlp", "causal-lm"],
  "data-seed": ["0", "42"],
  weighting: ["samples", "tokens"],
  lengths: ["1-8", "3,1,2", "0", "64", "0-0"],
  "learning-rate": ["0.1", "0", "1e-3"],
  backend: ["cpu", "wasm", "webgpu", "tensorflow"],
  device: ["cpu", "cuda"],
  timeout: ["60", "0.01"],
  runs: ["1", "2", "3"],
  seed: ["0", "-5", "2147483647"],
  jobs: ["1", "2"],
  path: ["0", "0:1", "1", "1:0:2"],
  "max-dataset-size": ["1", "8", "16"],
  "max-epochs": ["1", "2"],
};
const SWITCHES = ["json", "drop-last", "help"];
const PATHS = ["report", "junit"];
const FLAGS = [...Object.keys(VALID), ...SWITCHES, ...PATHS, "trainer", "python"];

/** What a number flag is never: signs, notations, digits of other scripts, huge values. */
const BAD_VALUES = [
  "",
  " ",
  "-1",
  "0",
  "-0",
  "1.5",
  "1e3",
  "0x10",
  "+3",
  " 3",
  "NaN",
  "Infinity",
  "٣",
  "１",
  "99999999999999999999",
  "9007199254740993",
  "true",
  "false",
  "--json",
  "-",
];

/** A file path flag's value: relative (the case's own folder), never a folder above it. */
const pathValue = fc.oneof(
  fc.constantFrom("r.html", "j.xml", "sub/", "missing/r.html", ".", "..", "r.html/"),
  hostileWord(3).map((text) => text.replaceAll("/", "_").replace(/^\.+$/, "dots") || "empty"),
);

/** A --python value: never a program found on PATH (only ./ paths, the project's interpreter, a fake). */
const pythonValue = fc.oneof(
  fc.constantFrom("", " ", "./fake-python", "./missing-python", locatePython()),
  hostileWord(3).map((text) => `./missing-${text.replaceAll("/", "_")}`),
);

/** A trainer name: a built-in one, a Python one that never reaches code of ours, or hostile text. */
const trainerValue = fc.oneof(
  { weight: 6, arbitrary: fc.constantFrom(...BUILT_IN) },
  { weight: 1, arbitrary: fc.constant("python:reference") },
  { weight: 2, arbitrary: hostileWord(4) },
  { weight: 1, arbitrary: hostileWord(3).map((text) => `python:${text.replaceAll(":", "_")}`) },
  {
    weight: 1,
    arbitrary: fc
      .tuple(hostileWord(2), hostileWord(2))
      .map(
        ([module, fn]) =>
          `python:fuzz_missing_${module.replace(/[:.]/g, "_")}:${fn.replaceAll(":", "_")}`,
      ),
  },
);

function flagValue(flag: string): fc.Arbitrary<Word> {
  if (PATHS.includes(flag)) return pathValue;
  if (flag === "python") return pythonValue;
  if (flag === "trainer") return trainerValue;
  return fc.oneof(
    { weight: 4, arbitrary: fc.constantFrom(...(VALID[flag] ?? ["1"])) },
    { weight: 2, arbitrary: fc.constantFrom(...BAD_VALUES) },
    { weight: 2, arbitrary: hostileWord() },
    { weight: 1, arbitrary: invalidUtf8Word(fc.constantFrom("", "8", "fp32")) },
  );
}

/** One change to a valid command line: a flag added (any form), a stray word, or a flag dropped. */
const mutation = fc.oneof(
  {
    weight: 5,
    arbitrary: fc.constantFrom(...FLAGS).chain((flag) =>
      fc.record({
        kind: fc.constant("flag" as const),
        flag: fc.constant(flag),
        value: flagValue(flag),
        form: fc.constantFrom("separate", "equals", "bare"),
        at: fc.nat(),
      }),
    ),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant("word" as const),
      word: fc.oneof(
        hostileWord(3).map((text) => `--${text}`),
        hostileWord(3).map((text) => `-${text}`),
        hostileWord(3),
        fc.constantFrom(
          "--",
          "-",
          "-h",
          "-x",
          "-hx",
          "---json",
          "--JSON",
          "--dataset_size",
          "--drop-last=false",
          "--json=",
          "--trainer=",
        ),
        invalidUtf8Word(fc.constantFrom("--", "-", "")),
      ),
      at: fc.nat(),
    }),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("drop" as const), at: fc.nat() }) },
);

type Mutation = typeof mutation extends fc.Arbitrary<infer T> ? T : never;

/** The command line a case runs: a valid one for its command, then its changes. */
function commandLine(
  command: string,
  trainer: string,
  seed: number,
  mutations: Mutation[],
): Word[] {
  const pairs: Word[][] =
    command === "check"
      ? [
          ["--trainer", trainer],
          ["--dataset-size", "8"],
          ["--batch-size", "2"],
          ["--accumulation", "2"],
        ]
      : command === "audit"
        ? [
            ["--trainer", trainer],
            ["--runs", "2"],
            ["--seed", String(seed)],
            ["--max-dataset-size", "8"],
          ]
        : [];
  // --runs stays: without it an audit searches 100 cases.
  for (const change of mutations.filter((m) => m.kind === "drop"))
    if (pairs.length > 0 && pairs[change.at % pairs.length]?.[0] !== "--runs")
      pairs.splice(change.at % pairs.length, 1);
  const words: Word[] = pairs.flat();
  for (const change of mutations) {
    const at = "at" in change ? change.at % (words.length + 1) : 0;
    if (change.kind === "word") words.splice(at, 0, change.word);
    if (change.kind !== "flag") continue;
    const { flag, value, form } = change;
    const inserted: Word[] =
      form === "bare"
        ? [`--${flag}`]
        : form === "separate"
          ? [`--${flag}`, value]
          : [
              typeof value === "string"
                ? `--${flag}=${value}`
                : new Uint8Array([...Buffer.from(`--${flag}=`), ...value]),
            ];
    words.splice(at, 0, ...inserted);
  }
  return [command, ...words];
}

const fuzzCase = fc.record({
  command: fc.constantFrom("check", "check", "audit", "audit", "list"),
  trainer: trainerValue,
  seed: fc.integer({ min: 0, max: 1000 }),
  mutations: fc.array(mutation, { minLength: 1, maxLength: 4 }),
});

describe("fuzz: bad flags and hostile strings on the command line", () => {
  it("every command line ends with a documented exit code, clear outputs and no process left", async () => {
    await fc.assert(
      fc.asyncProperty(fuzzCase, async ({ command, trainer, seed, mutations }) => {
        const folder = mkdtempSync(join(tmpdir(), "accumaudit-fuzz-flags-"));
        const fake = join(folder, "fake-python");
        writeFileSync(fake, "#!/bin/sh\nexit 0\n");
        chmodSync(fake, 0o755);
        const marker = caseMarker();
        const words = commandLine(command, trainer, seed, mutations);
        try {
          const run = await startCli(words, {
            cwd: folder,
            env: marker,
            limitMs: 90_000,
          }).ended;
          const problems = outputProblems(run, [0, 1, 2]);
          const written = readdirSync(folder).filter((name) => name !== "fake-python");
          if (run.code === 2 && run.stdout === "" && written.length > 0)
            problems.push(`a usage error wrote ${written.join(", ")}`);
          const left = await leftAfter(marker, 3_000);
          if (left.length > 0) problems.push(`left running: ${JSON.stringify(left)}`);
          expect(
            problems,
            `${describeWords(words)}\nexit ${run.code}\nstderr: ${run.stderr.slice(-600)}`,
          ).toEqual([]);
        } finally {
          rmSync(folder, { recursive: true, force: true });
        }
      }),
      fuzzParameters("flags", 30),
    );
  }, 600_000);
});
