/** Formats sample ids as compact ranges: [1,2,3,7] -> "1–3, 7"; long lists end with "…". */
export function formatSampleRanges(ids: readonly number[], maxRanges = 4): string {
  const sorted = [...new Set(ids)].sort((a, b) => a - b);
  const ranges: string[] = [];
  let start = sorted[0];
  let prev = start;
  for (let k = 1; k <= sorted.length; k++) {
    const id = sorted[k];
    if (id !== undefined && prev !== undefined && id === prev + 1) {
      prev = id;
      continue;
    }
    if (start !== undefined) ranges.push(start === prev ? `${start}` : `${start}–${prev}`);
    start = id;
    prev = id;
  }
  return ranges.length > maxRanges
    ? `${ranges.slice(0, maxRanges).join(", ")}, …`
    : ranges.join(", ");
}

/** "1 sample" / "14 samples". */
export function samplesWord(count: number): string {
  return `${count} sample${count === 1 ? "" : "s"}`;
}

/** "1 step" / "3 steps" / "2 micro-batches", for nouns with a regular plural. */
export function countOf(count: number, noun: string): string {
  if (count === 1) return `1 ${noun}`;
  return `${count} ${noun}${/(ch|sh|s|x)$/.test(noun) ? "es" : "s"}`;
}
