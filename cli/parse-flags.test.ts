import { describe, expect, it } from "vitest";
import { parseFlags } from "./parse-flags.js";

const LIST = { json: { type: "boolean" }, help: { type: "boolean", short: "h" } } as const;

function refusal(args: string[]): string {
  try {
    parseFlags(args, LIST);
  } catch (error) {
    return (error as Error).message;
  }
  return "accepted";
}

// Found by test/fuzz-flags.test.ts: the refused word was cut at its first character outside
// [-\w] (`--é` named as `--`, `-é` as nothing), a flag named after a key of Object.prototype
// given twice was "expected once", and an empty bare argument was named "argument".
describe("a refused word is named as it was given", () => {
  it.each([
    [["--foo"], "--foo: unknown flag; expected --json or --help"],
    [["--é"], "--é: unknown flag; expected --json or --help"],
    [["-é"], "-é: unknown flag; expected --json or --help"],
    [["--\u001b[2J=4"], "--\u001b[2J: unknown flag; expected --json or --help"],
    [["-\u{1F600}"], "-\u{1F600}: unknown flag; expected --json or --help"],
    [["-xy"], "-xy: unknown flag; expected --json or --help"],
    [["-h=3"], "-h=3: unknown flag; expected --json or --help"],
    [
      ["--json", "--constructor=1", "--constructor=2"],
      "--constructor: unknown flag; expected --json or --help",
    ],
    [["--__proto__"], "--__proto__: unknown flag; expected --json or --help"],
    [["stray"], "stray: expected a flag, saw a bare argument"],
    [["it's"], "it's: expected a flag, saw a bare argument"],
    [[""], '"": expected a flag, saw a bare argument'],
    [["--", "--json"], "--json: expected a flag, saw a bare argument"],
  ])("%j: %s", (args, message) => {
    expect(refusal(args)).toBe(message);
  });
});
