/**
 * Text from outside the tool (trainer names, exception messages, lines a trainer printed,
 * framework names) as the tool shows it: every character that could steer a terminal or reorder
 * what is read (C0 and C1 controls, DEL, line and paragraph separators, bidirectional overrides and
 * isolates) written as an escape, `\x1b`, `\n`, `\u202e`, so that a name cannot clear the screen or
 * start a line of its own; and a message longer than {@link TEXT_LIMIT} characters cut, with the
 * size of what was cut.
 */

/** Most characters of one message, printed line or source line that an output shows. */
export const TEXT_LIMIT = 2000;

/** Characters a terminal acts on or that reorder the text around them. */
const UNSAFE =
  // biome-ignore lint/suspicious/noControlCharactersInRegex: finding control characters is its job
  /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;

const NAMED: Readonly<Record<string, string>> = { "\n": "\\n", "\r": "\\r", "\t": "\\t" };

/** One unsafe character as an escape: `\n`, `\x1b`, `\u202e`. */
export function escapeCharacter(character: string): string {
  const named = NAMED[character];
  if (named) return named;
  const code = character.charCodeAt(0);
  return code < 0x100
    ? `\\x${code.toString(16).padStart(2, "0")}`
    : `\\u${code.toString(16).padStart(4, "0")}`;
}

/** Whether `text` holds none of the characters {@link printable} escapes. */
export function isPrintable(text: string): boolean {
  return text.search(UNSAFE) < 0;
}

/**
 * `text` with every control character, line break and bidirectional override escaped (see the
 * module): safe to print on a terminal, and always one line. Backslashes are kept as they are.
 */
export function printable(text: string): string {
  return text.replace(UNSAFE, escapeCharacter);
}

/** A size in bytes for people: "812 bytes", "4.1 kB", "3.2 MB". */
export function formatBytes(bytes: number): string {
  if (bytes < 1000) return `${bytes} ${bytes === 1 ? "byte" : "bytes"}`;
  if (bytes < 1e6) return `${(bytes / 1e3).toFixed(1)} kB`;
  if (bytes < 1e9) return `${(bytes / 1e6).toFixed(1)} MB`;
  return `${(bytes / 1e9).toFixed(1)} GB`;
}

/** Characters kept from the end of a cut text: where an error message says where it happened. */
const TAIL = 200;

/**
 * `text` longer than `limit` characters cut in the middle: its start, "… (3.2 MB cut) …" (the
 * UTF-8 size of what was left out) and its last {@link TAIL} characters, which keep the location
 * an error message ends with; as it is when it is no longer. A surrogate pair is never split.
 */
export function cutText(text: string, limit = TEXT_LIMIT): string {
  if (text.length <= limit) return text;
  const tail = Math.min(TAIL, Math.floor(limit / 2));
  let end = limit - tail;
  let start = text.length - tail;
  if (/[\ud800-\udbff]/.test(text.charAt(end - 1))) end -= 1;
  if (/[\udc00-\udfff]/.test(text.charAt(start))) start += 1;
  const cut = Buffer.byteLength(text.slice(end, start), "utf8");
  return `${text.slice(0, end)}… (${formatBytes(cut)} cut) …${text.slice(start)}`;
}

/** {@link cutText}, then {@link printable}: how a message from outside the tool is shown. */
export function printableText(text: string, limit = TEXT_LIMIT): string {
  return printable(cutText(text, limit));
}

/** What JSON.stringify leaves raw of the characters {@link printable} escapes: DEL, C1, separators, bidi. */
const UNSAFE_IN_JSON = /[\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;

/**
 * `value` as JSON (indented by 2) that is safe on a terminal as well: JSON.stringify escapes the
 * C0 controls, and each character it leaves raw that a terminal acts on or that reorders text
 * (a C1 control such as CSI, U+009B, or a bidirectional override) is written as a `\uXXXX` escape
 * too, so the document still parses to the same value.
 */
export function printableJson(value: unknown): string {
  return JSON.stringify(value, null, 2).replace(
    UNSAFE_IN_JSON,
    (character) => `\\u${character.charCodeAt(0).toString(16).padStart(4, "0")}`,
  );
}

/** A line a trainer printed, as the command line forwards it: "[python:my_loop:train] loss 0.31". */
export function trainerOutputLine(trainer: string, line: string): string {
  return `[${printable(trainer)}] ${printableText(line)}`;
}
