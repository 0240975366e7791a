import { describe, expect, it } from "vitest";
import { measureCases, median } from "./measure.js";
import { formatBenchTable } from "./table.js";

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe("measureCases", () => {
  it("times run against baseline side by side and reports the ratio", async () => {
    const rows = await measureCases(
      [{ name: "slow", scenario: "s", run: () => sleep(12), baseline: () => sleep(4) }],
      { repetitions: 3, targetRepetitionMs: 10, warmupMs: 0 },
    );
    const row = rows[0] ?? expect.fail("no row");
    expect(row.medianMs).toBeGreaterThanOrEqual(11);
    expect(row.baselineMedianMs).toBeGreaterThanOrEqual(3.5);
    expect(row.overhead).toBeGreaterThan(1.5);
    expect(row.casesPerSecond).toBeCloseTo(1000 / row.medianMs, 6);
  });

  it("takes the baseline's own duration when it reports one", async () => {
    const rows = await measureCases(
      [
        {
          name: "timed",
          scenario: "s",
          run: () => sleep(2),
          baseline: async () => 1000,
          baselineReportsMs: true,
        },
      ],
      { repetitions: 3, targetRepetitionMs: 1, warmupMs: 0 },
    );
    expect(rows[0]?.baselineMedianMs).toBe(1000);
    expect(rows[0]?.overhead).toBeLessThan(1);
    await expect(
      measureCases(
        [
          {
            name: "bad",
            scenario: "s",
            run: async () => {},
            baseline: async () => "no",
            baselineReportsMs: true,
          },
        ],
        { repetitions: 1, warmupMs: 0 },
      ),
    ).rejects.toThrow(/duration in ms/);
  });

  it("reports no overhead without a baseline, and formats a markdown row", async () => {
    const rows = await measureCases([{ name: "check", scenario: "t", run: async () => {} }], {
      repetitions: 1,
      warmupMs: 0,
    });
    expect(rows[0]?.overhead).toBeNull();
    const table = formatBenchTable(rows).split("\n");
    expect(table).toHaveLength(3);
    expect(table[2]).toMatch(/^\| check \| t \| [\d.]+ \| [\d.]+ \| - \| - \| 1 x \d+ \|$/);
  });
});

describe("median", () => {
  it("takes the middle value, or the mean of the two middle ones", () => {
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 3, 2])).toBe(2.5);
    expect(() => median([])).toThrow(/median/);
  });
});
