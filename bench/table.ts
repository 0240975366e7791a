import type { BenchRow } from "./measure.js";

const fixed = (value: number, digits: number) => value.toFixed(digits);

/** The rows as a markdown table: cases per second, per-case time, and the overhead against the baseline. */
export function formatBenchTable(rows: BenchRow[]): string {
  const lines = [
    "| runner | scenario | cases/s | ms/case | baseline ms/case | overhead (x) | reps x cases |",
    "| --- | --- | ---: | ---: | ---: | ---: | ---: |",
  ];
  for (const row of rows)
    lines.push(
      `| ${row.name} | ${row.scenario} | ${fixed(row.casesPerSecond, 1)} | ${fixed(row.medianMs, 2)} | ${
        row.baselineMedianMs === null ? "-" : fixed(row.baselineMedianMs, 2)
      } | ${row.overhead === null ? "-" : fixed(row.overhead, 2)} | ${row.repetitions} x ${row.casesPerRepetition} |`,
    );
  return lines.join("\n");
}
