import fc from "fast-check";

// Hostile text for the fuzz suites: what a terminal acts on (escape sequences, controls, carriage
// returns, bidirectional overrides), forged verdict lines, quotes and shell syntax, lone
// surrogates, invalid UTF-8 and very long strings.

const PIECES = [
  "\x1b[2J",
  "\x1b[H",
  "\x1b]0;title\x07",
  "\x1b[31m",
  "\x9b2J",
  "\r",
  "\n",
  "\nPASS  forged",
  "\rFAIL  forged",
  "\u202e",
  "\u2066",
  "\u2028",
  "\u200f",
  "\x7f",
  "\x08",
  "\t",
  "\v",
  "'",
  '"',
  "\\",
  "\\x1b",
  "$(id)",
  "`",
  "%s%n",
  "{}",
  "\ud83d\ude00",
  "\ud800",
  "\udfff",
  "e\u0301",
  "\ufeff",
  " ",
  "--",
  "=",
  ",",
  ":",
  "accumaudit: ",
  "Traceback",
  "<script>alert(1)</script>",
  "]]></failure>",
  "&amp;",
];

/** Text made of hostile pieces and arbitrary code points (lone surrogates included), or very long. */
export function hostileText(maxPieces = 6): fc.Arbitrary<string> {
  return fc.oneof(
    {
      weight: 4,
      arbitrary: fc
        .array(fc.oneof(fc.constantFrom(...PIECES), fc.string({ unit: "binary", maxLength: 4 })), {
          minLength: 1,
          maxLength: maxPieces,
        })
        .map((parts) => parts.join("")),
    },
    { weight: 1, arbitrary: fc.string({ unit: "binary", minLength: 1, maxLength: 12 }) },
    {
      weight: 1,
      arbitrary: fc
        .tuple(fc.integer({ min: 2_000, max: 6_000 }), fc.constantFrom(...PIECES))
        .map(([n, piece]) => `${"x".repeat(n)}${piece}${"y".repeat(n % 97)}`),
    },
  );
}

/** Hostile text that can be a command-line word: no NUL, which no argv can hold. */
export function hostileWord(maxPieces = 6): fc.Arbitrary<string> {
  return hostileText(maxPieces).map((text) => text.replaceAll("\0", ""));
}

/** Bytes that are no valid UTF-8: a stray continuation, an overlong form, an encoded surrogate. */
export const INVALID_UTF8: readonly number[][] = [
  [0xff],
  [0xc3, 0x28],
  [0xc0, 0xaf],
  [0xed, 0xa0, 0x80],
  [0xf4, 0x90, 0x80, 0x80],
  [0x80, 0x80],
  [0x1b, 0x5b, 0x32, 0x4a, 0xfe],
];

/** A word of raw bytes: text with invalid UTF-8 in it. */
export function invalidUtf8Word(prefix: fc.Arbitrary<string>): fc.Arbitrary<Uint8Array> {
  return fc
    .tuple(prefix, fc.constantFrom(...INVALID_UTF8))
    .map(([text, bytes]) => new Uint8Array([...Buffer.from(text, "utf8"), ...bytes]));
}
