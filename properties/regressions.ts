import {
  describeIssues,
  MODELS_BY_WEIGHTING,
  parseScenario,
  type Scenario,
  ScenarioSchema,
} from "../trainers/contract/scenario.js";
import type { ScenarioPins } from "./pinned-size.js";

/**
 * What a known counterexample is kept for: an epoch whose last window holds fewer than K
 * micro-batches (the documentation loop never steps on it), or a short last micro-batch that
 * shares its window with full ones (a per-micro-batch mean over-weights its samples).
 */
export type RegressionPurpose = "incomplete-last-window" | "short-micro-batch-in-window";

/** A fixed scenario checked beside every search, with what it exercises. */
export interface KnownCounterexample {
  scenario: Scenario;
  purpose: RegressionPurpose;
}

/**
 * Why a known counterexample was left out of a pinned audit: with the pins applied it is no
 * scenario (`message`: the schema's one-line error, naming fields), or it no longer exercises its
 * purpose: its last window is complete (`microBatches`, a multiple of K, per rank), or its last
 * micro-batch is full, dropped by drop_last or alone in its window.
 */
export type LeftOutReason =
  | { kind: "invalid"; message: string }
  | { kind: "complete-last-window"; microBatches: number; accumulation: number }
  | { kind: "last-micro-batch-full" }
  | { kind: "last-micro-batch-dropped" }
  | { kind: "last-micro-batch-alone" };

/** A known counterexample that a pinned audit does not check, and why. */
export interface RegressionLeftOut {
  /** The known counterexample as it is without the pins. */
  scenario: Scenario;
  reason: LeftOutReason;
}

/** The known counterexamples to check under the pins, and those left out. */
export interface PinnedRegressions {
  kept: Scenario[];
  leftOut: RegressionLeftOut[];
}

/**
 * The mission's scenarios, checked beside every search: 110/8/4 over 2 epochs (the documentation
 * loop's lost tail: an incomplete last window) and 1000/128/4 (the two-loop's over-weighted last
 * micro-batch), with the model, precision, world size and weighting given.
 */
export function missionCounterexamples(
  model: Scenario["model"] = "fingerprint",
  precision: Scenario["precision"] = "fp32",
  worldSize = 1,
  weighting: Scenario["weighting"] = "samples",
): KnownCounterexample[] {
  const allowed: ReadonlyArray<Scenario["model"]> = MODELS_BY_WEIGHTING[weighting];
  const common = {
    model: allowed.includes(model) ? model : "fingerprint",
    precision,
    worldSize,
    weighting,
  };
  return [
    {
      scenario: parseScenario({
        datasetSize: 110,
        batchSize: 8,
        accumulation: 4,
        epochs: 2,
        ...common,
      }),
      purpose: "incomplete-last-window",
    },
    {
      scenario: parseScenario({ datasetSize: 1000, batchSize: 128, accumulation: 4, ...common }),
      purpose: "short-micro-batch-in-window",
    },
  ];
}

/**
 * Why a scenario does not exercise a purpose, or null when it does. Counted on the first rank's
 * loader, which holds ceil(N / W) samples (a padding sampler gives every rank as many).
 */
function missedPurpose(s: Scenario, purpose: RegressionPurpose): LeftOutReason | null {
  const samples = Math.ceil(s.datasetSize / s.worldSize);
  const short = samples % s.batchSize;
  const microBatches = s.dropLast
    ? Math.floor(samples / s.batchSize)
    : Math.ceil(samples / s.batchSize);
  if (purpose === "incomplete-last-window")
    return microBatches % s.accumulation === 0
      ? { kind: "complete-last-window", microBatches, accumulation: s.accumulation }
      : null;
  if (short === 0) return { kind: "last-micro-batch-full" };
  if (s.dropLast) return { kind: "last-micro-batch-dropped" };
  // The last window's micro-batches: the remainder of K, or K when the windows come out even.
  const inLastWindow = microBatches % s.accumulation || s.accumulation;
  return inLastWindow < 2 ? { kind: "last-micro-batch-alone" } : null;
}

/**
 * The known counterexamples with the pins applied where they fit. Each pinned field replaces
 * the counterexample's own value (its N, B and K too); the result is kept when it is a valid
 * scenario that still exercises the counterexample's purpose, and left out, with the reason,
 * otherwise. So `--drop-last` keeps 110/8/4 (13 micro-batches, an incomplete last window) and
 * leaves out 1000/128/4 (its short micro-batch is dropped); `--batch-size 16` checks 110/16/4
 * and 1000/16/4, which still have what the originals were kept for.
 */
export function pinRegressions(
  known: readonly KnownCounterexample[],
  pins: ScenarioPins,
): PinnedRegressions {
  const kept: Scenario[] = [];
  const leftOut: RegressionLeftOut[] = [];
  for (const { scenario, purpose } of known) {
    const parsed = ScenarioSchema.safeParse({ ...scenario, ...pins });
    if (!parsed.success) {
      leftOut.push({
        scenario,
        reason: { kind: "invalid", message: describeIssues(parsed.error) },
      });
      continue;
    }
    const missed = missedPurpose(parsed.data, purpose);
    if (missed) leftOut.push({ scenario, reason: missed });
    else kept.push(parsed.data);
  }
  return { kept, leftOut };
}
