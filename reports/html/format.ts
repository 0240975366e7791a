/** Escapes text for HTML element content and double-quoted attribute values. */
export function escapeHtml(text: string): string {
  return text
    .replaceAll("&", "&amp;")
    .replaceAll("<", "&lt;")
    .replaceAll(">", "&gt;")
    .replaceAll('"', "&quot;")
    .replaceAll("'", "&#39;");
}

/** A number for people: 4 significant digits, exponent form when tiny or huge. */
export function formatNumber(value: number): string {
  if (Number.isNaN(value)) return "NaN";
  if (!Number.isFinite(value)) return value > 0 ? "∞" : "−∞";
  if (value === 0) return "0";
  const magnitude = Math.abs(value);
  if (magnitude < 1e-3 || magnitude >= 1e6) return Number(value.toPrecision(3)).toExponential();
  return String(Number(value.toPrecision(4)));
}

/** A weight, as 1/n when it is the reciprocal of a whole number (1/416), else as a number. */
export function formatWeight(weight: number): string {
  if (weight > 0 && Number.isFinite(weight)) {
    const n = 1 / weight;
    const whole = Math.round(n);
    if (whole >= 1 && Math.abs(n - whole) <= 1e-6 * n) return `1/${whole}`;
  }
  return formatNumber(weight);
}

/** How much larger or smaller `actual` is than `expected`, e.g. "17.3% bigger". */
export function formatChange(actual: number, expected: number): string {
  if (expected === 0) return actual === 0 ? "the same" : "applied where nothing was due";
  const change = actual / expected - 1;
  const percent = Math.abs(change * 100);
  const shown = percent >= 10 ? percent.toFixed(1) : percent.toPrecision(2);
  if (Math.abs(change) < 1e-12) return "the same";
  return `${shown}% ${change > 0 ? "bigger" : "smaller"}`;
}

/**
 * Sample ids as ranges: [96..109] gives "96–109"; long lists are cut after `limit` ranges and
 * say how many ids were left out: "686, 935 and 10 more".
 */
export function formatSampleRanges(ids: readonly number[], limit = 6): string {
  const sorted = [...new Set(ids)].sort((a, b) => a - b);
  const ranges: Array<[number, number]> = [];
  for (const id of sorted) {
    const last = ranges[ranges.length - 1];
    if (last && id === last[1] + 1) last[1] = id;
    else ranges.push([id, id]);
  }
  const shown = ranges.slice(0, limit).map(([a, b]) => (a === b ? `${a}` : `${a}–${b}`));
  const more = ranges.slice(limit).reduce((n, [a, b]) => n + b - a + 1, 0);
  return more > 0
    ? `${shown.join(", ")} and ${more.toLocaleString("en-US")} more`
    : shown.join(", ");
}

/**
 * A 0-based step, epoch, window or micro-batch index as people count it (from 1), as the
 * property messages do. Sample ids stay 0-based: they are ids, not counts.
 */
export function nth(index: number): number {
  return index + 1;
}

/** "1 sample", "14 samples"; `many` names the plural when it is not `noun` + "s" ("micro-batches"). */
export function plural(count: number, noun: string, many = `${noun}s`): string {
  return `${count.toLocaleString("en-US")} ${count === 1 ? noun : many}`;
}

/** The verb "to be" in the past, agreeing with a count: "1 sample was", "2 samples were". */
export function wasWere(count: number): "was" | "were" {
  return count === 1 ? "was" : "were";
}

/** A first–last range of positions numbered from 1: "micro-batch 3" or "micro-batches 3–4". */
export function positionRange(
  first: number,
  last: number,
  noun: string,
  many = `${noun}s`,
): string {
  return first === last ? `${noun} ${nth(first)}` : `${many} ${nth(first)}–${nth(last)}`;
}
