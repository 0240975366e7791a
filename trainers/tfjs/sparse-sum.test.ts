import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { SparseFloat32Sums } from "./sparse-sum.js";

type Operation =
  | { op: "add"; index: number; value: number }
  | { op: "update"; divisor: number }
  | { op: "clear" };

const SIZE = 12;

const operation: fc.Arbitrary<Operation> = fc.oneof(
  {
    arbitrary: fc.record({
      op: fc.constant("add" as const),
      index: fc.integer({ min: 0, max: SIZE - 1 }),
      value: fc.oneof(
        fc.float({ noDefaultInfinity: false }).map(Number),
        fc.constantFrom(-0, 0, Number.NaN, Number.POSITIVE_INFINITY, 1e-45, 3.4e38),
      ),
    }),
    weight: 8,
  },
  {
    arbitrary: fc.record({
      op: fc.constant("update" as const),
      divisor: fc.integer({ min: 1, max: 9 }),
    }),
    weight: 1,
  },
  { arbitrary: fc.constant({ op: "clear" as const }), weight: 1 },
);

/** The sums as a Map of Math.fround sums holds them (what GradientBuffer kept before). */
function mapSums(operations: readonly Operation[]): Map<number, number> {
  const sums = new Map<number, number>();
  for (const o of operations) {
    if (o.op === "add") {
      const before = sums.get(o.index);
      sums.set(
        o.index,
        before === undefined ? Math.fround(o.value) : Math.fround(before + o.value),
      );
    } else if (o.op === "update")
      for (const [index, s] of sums) sums.set(index, Math.fround(s / o.divisor));
    else sums.clear();
  }
  return sums;
}

describe("SparseFloat32Sums", () => {
  it("holds what a Map of float32 sums holds, after any adds, updates and clears", () => {
    fc.assert(
      fc.property(fc.array(operation, { maxLength: 40 }), (operations) => {
        const sums = new SparseFloat32Sums(SIZE);
        for (const o of operations) {
          if (o.op === "add") sums.add(o.index, o.value);
          else if (o.op === "update") sums.update((s) => s / o.divisor);
          else sums.clear();
        }
        const expected = mapSums(operations);
        const seen: Array<[number, number]> = [];
        sums.forEach((index, sum) => {
          seen.push([index, sum]);
        });
        expect(seen).toEqual([...expected]); // same indices in first-added order, same values (-0 and NaN included)
        const { indices, values } = sums.sorted();
        const ascending = [...expected.keys()].sort((a, b) => a - b);
        expect([...indices]).toEqual(ascending);
        expect([...values]).toEqual(ascending.map((i) => expected.get(i)));
        expect(sums.count).toBe(expected.size);
      }),
      { numRuns: 500 },
    );
  });

  it("adds its sums, mapped or not, to another's", () => {
    const from = new SparseFloat32Sums(6);
    const to = new SparseFloat32Sums(6);
    from.add(4, 0.1);
    from.add(1, -0);
    to.add(4, 0.2);
    from.addTo(to);
    from.addTo(to, (s) => s * 2);
    const seen: Array<[number, number]> = [];
    to.forEach((index, sum) => {
      seen.push([index, sum]);
    });
    const tenth = Math.fround(0.1);
    expect(seen).toEqual([
      [4, Math.fround(Math.fround(Math.fround(0.2) + tenth) + tenth * 2)],
      [1, -0],
    ]);
  });

  it("refuses an index outside 0 .. size - 1", () => {
    const sums = new SparseFloat32Sums(4);
    for (const index of [-1, 4, 1.5, Number.NaN])
      expect(() => sums.add(index, 1)).toThrow(/outside phi \(0 to 3\)/);
    expect(sums.count).toBe(0);
  });
});
