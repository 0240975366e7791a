import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  cutText,
  formatBytes,
  isPrintable,
  printable,
  printableJson,
  trainerOutputLine,
} from "./printable.js";

describe("printable", () => {
  it.each([
    ["plain text, ünïcode and a \\ backslash", "plain text, ünïcode and a \\ backslash"],
    ["\u001b[2J\u001b[H", "\\x1b[2J\\x1b[H"],
    ["name\nPASS  forged\r", "name\\nPASS  forged\\r"],
    ["tab\there, bell\u0007, nul\u0000, del\u007f", "tab\\there, bell\\x07, nul\\x00, del\\x7f"],
    ["c1 \u009b31m csi", "c1 \\x9b31m csi"],
    [
      "bidi \u202eevil\u202c and \u2066isolate\u2069",
      "bidi \\u202eevil\\u202c and \\u2066isolate\\u2069",
    ],
    ["line\u2028separator", "line\\u2028separator"],
  ])("shows %j as %j", (text, shown) => {
    expect(printable(text)).toBe(shown);
  });

  it("leaves one line with no character a terminal acts on, for any text", () => {
    fc.assert(
      fc.property(fc.string({ unit: "binary" }), (text) => {
        const shown = printable(text);
        expect(isPrintable(shown)).toBe(true);
        expect(shown).not.toContain("\n");
        if (isPrintable(text)) expect(shown).toBe(text);
      }),
    );
  });
});

describe("cutText", () => {
  it("keeps a text up to the limit as it is", () => {
    expect(cutText("x".repeat(2000))).toBe("x".repeat(2000));
  });

  it("cuts a 5 MB text in the middle, stating the size cut, and keeps its end", () => {
    const text = `${"x".repeat(5_000_000)} (loop.py:12 in train)`;
    const cut = cutText(text);
    expect(cut.length).toBeLessThan(2100);
    expect(cut).toMatch(/^x{1800}… \(5\.0 MB cut\) …x+ \(loop\.py:12 in train\)$/);
  });

  it("counts what it cut in UTF-8 bytes and never splits a surrogate pair", () => {
    const cut = cutText("😀".repeat(100), 50);
    expect(cut).toBe(`${"😀".repeat(12)}… (${formatBytes(4 * 76)} cut) …${"😀".repeat(12)}`);
    expect(cut).not.toMatch(/[\ud800-\udbff](?![\udc00-\udfff])/);
  });

  it.each([
    [1, "1 byte"],
    [999, "999 bytes"],
    [3_200_000, "3.2 MB"],
    [4_100, "4.1 kB"],
    [2e9, "2.0 GB"],
  ])("writes %d bytes as %s", (bytes, words) => {
    expect(formatBytes(bytes)).toBe(words);
  });
});

describe("trainerOutputLine", () => {
  it("prefixes the trainer's name and shows both escaped", () => {
    expect(trainerOutputLine("python:m:f\u001b[2J", "\rPASS  forged")).toBe(
      "[python:m:f\\x1b[2J] \\rPASS  forged",
    );
  });
});

// Found by test/fuzz-trainers.test.ts: a framework name with U+2028 (or a C1 CSI, or U+202E)
// reached `--json` raw, as JSON.stringify leaves those characters.
describe("printableJson", () => {
  it("escapes what JSON.stringify leaves raw and parses back to the same value", () => {
    const value = { framework: "evil\u009b2J\u2028\u202e\\\u2028", version: "1.0\u001b[31m" };
    const text = printableJson(value);
    expect(text).toBe(
      '{\n  "framework": "evil\\u009b2J\\u2028\\u202e\\\\\\u2028",\n  "version": "1.0\\u001b[31m"\n}',
    );
    expect(isPrintable(text.replaceAll("\n", " "))).toBe(true);
    expect(JSON.parse(text)).toEqual(value);
  });

  it("holds for any string", () => {
    fc.assert(
      fc.property(fc.string({ unit: "binary" }), (text) => {
        const json = printableJson({ text });
        expect(isPrintable(json.replaceAll("\n", " "))).toBe(true);
        expect(JSON.parse(json)).toEqual({ text });
      }),
    );
  });
});
