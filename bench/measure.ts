/** One named thing to time, e.g. a trainer on a scenario, or a full check (trainer + oracle + properties). */
export interface CaseRunner {
  /** Row label, e.g. `docs-loop` or `docs-loop full check`. */
  name: string;
  /** Scenario label, e.g. `110/8/4 x2`. */
  scenario: string;
  /** Runs one case. */
  run: () => Promise<unknown>;
  /**
   * Optional baseline run side by side with `run` (interleaved, order alternating); the row's
   * overhead is run time / baseline time. For the audit overhead: the same trainer not recording.
   */
  baseline?: () => Promise<unknown>;
  /**
   * True when `baseline` resolves to its own duration in milliseconds (e.g. timed inside a child
   * process), which is then used in place of the wall time around the call.
   */
  baselineReportsMs?: boolean;
}

/** Timing of one runner. Times are per case, medians over the repetitions. */
export interface BenchRow {
  name: string;
  scenario: string;
  repetitions: number;
  /** Cases timed together in each repetition. */
  casesPerRepetition: number;
  medianMs: number;
  casesPerSecond: number;
  baselineMedianMs: number | null;
  /** Median over repetitions of (run time / baseline time in the same repetition). */
  overhead: number | null;
}

export interface MeasureOptions {
  /** Timed repetitions per runner (default 11). */
  repetitions?: number;
  /** Each repetition runs enough cases to last about this long (default 60 ms). */
  targetRepetitionMs?: number;
  /** Untimed warm-up of run and baseline, at least this long and at least one case each (default 300 ms); 0 also skips the
   * first pass over all runners. */
  warmupMs?: number;
}

/** The median of a non-empty list. */
export function median(values: number[]): number {
  if (values.length === 0) throw new RangeError("median: expected at least one value, saw none");
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  const upper = sorted[mid] as number;
  return sorted.length % 2 === 1 ? upper : ((sorted[mid - 1] as number) + upper) / 2;
}

/**
 * Mean time per case over `cases` calls: the wall time, or with `reportsMs` the sum of the
 * durations `run` resolves to.
 */
async function timeCases(
  run: () => Promise<unknown>,
  cases: number,
  reportsMs = false,
): Promise<number> {
  const start = performance.now();
  let reported = 0;
  for (let k = 0; k < cases; k++) {
    const result = await run();
    if (reportsMs) {
      if (typeof result !== "number" || !Number.isFinite(result))
        throw new TypeError(`baseline: expected its duration in ms, saw ${String(result)}`);
      reported += result;
    }
  }
  return (reportsMs ? reported : performance.now() - start) / cases;
}

/** Runs run and baseline alternately for at least `ms`; returns the last per-case time of run. */
async function warmUp(runner: CaseRunner, ms: number): Promise<number> {
  const start = performance.now();
  let perCase: number;
  do {
    perCase = await timeCases(runner.run, 1);
    if (runner.baseline) await timeCases(runner.baseline, 1);
  } while (performance.now() - start < ms);
  return perCase;
}

/**
 * Times each runner: one untimed case of every runner, then per runner an untimed warm-up of run and baseline, then `repetitions` repetitions of
 * `casesPerRepetition` cases, run and baseline interleaved in alternating order so drift and
 * warm-up affect both alike. Returns one row per runner, in order.
 */
export async function measureCases(
  runners: CaseRunner[],
  options: MeasureOptions = {},
): Promise<BenchRow[]> {
  const repetitions = options.repetitions ?? 11;
  const target = options.targetRepetitionMs ?? 60;
  const warmupMs = options.warmupMs ?? 300;
  const rows: BenchRow[] = [];
  // One case of every runner first, so the first runner does not pay for compiling shared code.
  if (warmupMs > 0)
    for (const runner of runners) {
      await runner.run();
      await runner.baseline?.();
    }
  for (const runner of runners) {
    const perCase = await warmUp(runner, warmupMs);
    const cases = Math.max(1, Math.ceil(target / Math.max(perCase, 1e-3)));
    const runTimes: number[] = [];
    const baselineTimes: number[] = [];
    const ratios: number[] = [];
    for (let rep = 0; rep < repetitions; rep++) {
      const baseline = runner.baseline;
      if (baseline === undefined) {
        runTimes.push(await timeCases(runner.run, cases));
        continue;
      }
      const reports = runner.baselineReportsMs === true;
      let runMs: number;
      let baselineMs: number;
      if (rep % 2 === 0) {
        runMs = await timeCases(runner.run, cases);
        baselineMs = await timeCases(baseline, cases, reports);
      } else {
        baselineMs = await timeCases(baseline, cases, reports);
        runMs = await timeCases(runner.run, cases);
      }
      runTimes.push(runMs);
      baselineTimes.push(baselineMs);
      ratios.push(runMs / baselineMs);
    }
    const medianMs = median(runTimes);
    rows.push({
      name: runner.name,
      scenario: runner.scenario,
      repetitions,
      casesPerRepetition: cases,
      medianMs,
      casesPerSecond: 1000 / medianMs,
      baselineMedianMs: baselineTimes.length > 0 ? median(baselineTimes) : null,
      overhead: ratios.length > 0 ? median(ratios) : null,
    });
  }
  return rows;
}
