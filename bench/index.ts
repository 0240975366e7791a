export { BENCH_SCENARIOS, type BenchedWork, benchCaseRunners } from "./cases.js";
export {
  type BenchRow,
  type CaseRunner,
  type MeasureOptions,
  measureCases,
  median,
} from "./measure.js";
export { formatBenchTable } from "./table.js";
