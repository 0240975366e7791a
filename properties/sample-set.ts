/**
 * Sample ids as sorted, disjoint inclusive ranges `[first, last]`. `count` is exact; `ranges`
 * keeps at most {@link MAX_RANGES}, so a scattered set of a huge run stays small (then the ranges
 * hold fewer ids than `count`).
 */
export interface SampleSet {
  count: number;
  ranges: Array<[number, number]>;
}

/** Most ranges a sample set keeps. */
export const MAX_RANGES = 1000;

/** The set of these ids (any order, repeats ignored). */
export function sampleSet(ids: Iterable<number>): SampleSet {
  const sorted = [...new Set(ids)].sort((a, b) => a - b);
  const ranges: Array<[number, number]> = [];
  for (const id of sorted) {
    const last = ranges[ranges.length - 1];
    if (last && id === last[1] + 1) last[1] = id;
    else if (ranges.length < MAX_RANGES) ranges.push([id, id]);
    else break;
  }
  return { count: sorted.length, ranges };
}

/** The ids a set holds, smallest first, at most `limit` of them. */
export function sampleIds(set: SampleSet, limit = Number.POSITIVE_INFINITY): number[] {
  const ids: number[] = [];
  for (const [first, last] of set.ranges)
    for (let id = first; id <= last && ids.length < limit; id++) ids.push(id);
  return ids;
}

/** The union of disjoint sets (as the findings of one kind in one epoch are). */
export function mergeSampleSets(sets: readonly SampleSet[]): SampleSet {
  const ranges = sets
    .flatMap((s) => s.ranges)
    .sort((a, b) => a[0] - b[0])
    .reduce<Array<[number, number]>>((merged, [first, last]) => {
      const previous = merged[merged.length - 1];
      if (previous && first <= previous[1] + 1) previous[1] = Math.max(previous[1], last);
      else merged.push([first, last]);
      return merged;
    }, []);
  return { count: sets.reduce((n, s) => n + s.count, 0), ranges: ranges.slice(0, MAX_RANGES) };
}
