import type { CheckOutcome } from "../properties/outcome.js";
import { runCheck } from "../properties/run-check.js";
import { checkErrorMessage } from "../reports/sentences/index.js";
import { frameworkLabel, scenarioShape } from "../reports/words.js";
import { DEFAULT_LENGTHS, parseScenario, type Scenario } from "../trainers/contract/scenario.js";
import { PYTHON_TRAINER_NAMES } from "../trainers/external/index.js";
import { type ExternalOptions, resolveTrainer } from "../trainers/registry.js";
import { tfjsTrainerNames } from "../trainers/tfjs/index.js";

/** What one verdict table holds: the trainers checked on the mission's two scenarios, and how. */
export interface VerdictRun {
  precision: Scenario["precision"];
  device: "cpu" | "cuda";
  worldSize: number;
  weighting: Scenario["weighting"];
  /** The interpreter of the Python trainers (--python); the worker's default when absent. */
  python?: string;
}

/** One table: the line that says how it was measured, its rows, and every trainer's checks. */
export interface VerdictTable {
  note: string;
  lines: string[];
  checks: Map<string, CheckOutcome[]>;
}

/** The mission's two scenarios, 110/8/4 over 2 epochs and 1000/128/4, as the run asks. */
export function missionScenariosOf(run: VerdictRun): Scenario[] {
  const { precision, worldSize, weighting } = run;
  return [
    parseScenario({
      datasetSize: 110,
      batchSize: 8,
      accumulation: 4,
      epochs: 2,
      precision,
      worldSize,
      weighting,
    }),
    parseScenario({
      datasetSize: 1000,
      batchSize: 128,
      accumulation: 4,
      precision,
      worldSize,
      weighting,
    }),
  ];
}

function externalOptions(run: VerdictRun): ExternalOptions {
  return { device: run.device, ...(run.python ? { python: run.python } : {}) };
}

/** Every trainer, built-in and Python; above one rank, those that run data-parallel. */
export async function defaultTrainerNames(run: VerdictRun): Promise<string[]> {
  const all = [...tfjsTrainerNames, ...PYTHON_TRAINER_NAMES];
  if (run.worldSize === 1) return all;
  const external = externalOptions(run);
  const fits = await Promise.all(
    all.map(
      async (name) =>
        ((await resolveTrainer(name, external).maxWorldSize?.()) ?? 1) >= run.worldSize,
    ),
  );
  return all.filter((_, k) => fits[k]);
}

const fmt = (x: number) => (x === 0 ? "0" : x < 1e-3 ? x.toExponential(1) : x.toFixed(3));

function cells(r: CheckOutcome, worldSize: number): string[] {
  if (r.verdict === "error") return ["error", "error", `error: ${checkErrorMessage(r.error)}`];
  const p = r.properties;
  const c = p.coverage;
  const lost = c.epochs.reduce((n, e) => n + e.lost, 0);
  const leaked = c.epochs.reduce((n, e) => n + e.leaked, 0);
  const duplicated = c.epochs.reduce((n, e) => n + e.duplicated, 0);
  const coverage = c.ok
    ? "pass"
    : `FAIL (${leaked} leaked, ${lost} lost${duplicated > 0 ? `, ${duplicated} duplicated` : ""})`;
  const weighting = `${p.weighting.ok ? "pass" : "FAIL"} (${fmt(p.weighting.maxRelError)})`;
  const replicas = worldSize > 1 ? [p.replicas.ok ? "pass" : "FAIL"] : [];
  return [coverage, weighting, p.windowing.ok ? "pass" : "FAIL", ...replicas];
}

/** Checks each trainer on the mission's two scenarios and makes the Markdown table of the verdicts. */
export async function verdictTable(
  run: VerdictRun,
  names: readonly string[],
): Promise<VerdictTable> {
  const replicas = run.worldSize > 1 ? [" replicas |", " --- |"] : ["", ""];
  const lines = [
    `| trainer | framework | scenario | coverage | weighting (max rel. error) | windowing |${replicas[0]}`,
    `| --- | --- | --- | --- | --- | --- |${replicas[1]}`,
  ];
  const checks = new Map<string, CheckOutcome[]>();
  const external = externalOptions(run);
  for (const name of names) {
    const trainer = resolveTrainer(name, external);
    for (const scenario of missionScenariosOf(run)) {
      const result = await runCheck(trainer, scenario, { device: run.device });
      checks.set(name, [...(checks.get(name) ?? []), result]);
      const framework = result.trainerInfo?.framework ? frameworkLabel(result.trainerInfo) : "-";
      lines.push(
        `| ${name} | ${framework} | ${scenarioShape(scenario)} | ${cells(result, run.worldSize).join(" | ")} |`,
      );
    }
  }
  const lengths =
    run.weighting === "tokens" ? `, loss tokens per sample drawn from ${DEFAULT_LENGTHS}` : "";
  const note = `Fingerprint model, ${run.precision}, device ${run.device}, world size ${run.worldSize}, ${run.weighting} weighting${lengths}.`;
  return { note, lines, checks };
}

/** "right" when every check of the trainer passed, else "wrong". */
function rightOrWrong(checks: readonly CheckOutcome[] | undefined): string {
  return checks && checks.length > 0 && checks.every((c) => c.verdict === "pass")
    ? "right"
    : "wrong";
}

/** Which trainers held every property on both scenarios, under each weighting. */
export function weightingTable(samples: VerdictTable, tokens: VerdictTable): string[] {
  return [
    "| trainer | samples | tokens |",
    "| --- | --- | --- |",
    ...[...samples.checks.keys()].map(
      (name) =>
        `| ${name} | ${rightOrWrong(samples.checks.get(name))} | ${rightOrWrong(tokens.checks.get(name))} |`,
    ),
  ];
}
