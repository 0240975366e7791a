import { parseArgs } from "node:util";
import type { CheckOutcome } from "../properties/outcome.js";
import { runCheck } from "../properties/run-check.js";
import { checkErrorMessage } from "../reports/sentences/index.js";
import { frameworkLabel, scenarioShape } from "../reports/words.js";
import {
  DEFAULT_LENGTHS,
  PRECISIONS,
  parseScenario,
  type Scenario,
  WEIGHTINGS,
} from "../trainers/contract/scenario.js";
import { disposePythonWorkers, PYTHON_TRAINER_NAMES } from "../trainers/external/index.js";
import { resolveTrainer } from "../trainers/registry.js";
import { tfjsTrainerNames } from "../trainers/tfjs/index.js";

const { values } = parseArgs({
  options: {
    trainer: { type: "string", multiple: true },
    device: { type: "string", default: "cpu" },
    precision: { type: "string", default: "fp32" },
    python: { type: "string" },
    "world-size": { type: "string", default: "1" },
    weighting: { type: "string", default: "samples" },
  },
});
const weighting = WEIGHTINGS.find((w) => w === values.weighting);
if (!weighting)
  throw new Error(`--weighting: expected one of ${WEIGHTINGS.join(", ")}, saw ${values.weighting}`);
const worldSize = Number(values["world-size"]);
if (!Number.isInteger(worldSize) || worldSize < 1)
  throw new Error(
    `--world-size: expected a whole number of at least 1, saw ${values["world-size"]}`,
  );
const device = values.device === "cuda" ? "cuda" : "cpu";
const precision = PRECISIONS.find((p) => p === values.precision);
if (!precision)
  throw new Error(`--precision: expected one of ${PRECISIONS.join(", ")}, saw ${values.precision}`);
const external = { device, ...(values.python ? { python: values.python } : {}) } as const;
/** Every trainer by default; above one rank, those that run data-parallel. */
async function defaultNames(): Promise<string[]> {
  const all = [...tfjsTrainerNames, ...PYTHON_TRAINER_NAMES];
  if (worldSize === 1) return all;
  const runs = await Promise.all(
    all.map(
      async (name) => ((await resolveTrainer(name, external).maxWorldSize?.()) ?? 1) >= worldSize,
    ),
  );
  return all.filter((_, k) => runs[k]);
}
const names = values.trainer ?? (await defaultNames());
const scenarios: Scenario[] = [
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

const fmt = (x: number) => (x === 0 ? "0" : x < 1e-3 ? x.toExponential(1) : x.toFixed(3));

function cells(r: CheckOutcome): string[] {
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

const replicasColumn = worldSize > 1 ? [" replicas |", " --- |"] : ["", ""];
const rows = [
  `| trainer | framework | scenario | coverage | weighting (max rel. error) | windowing |${replicasColumn[0]}`,
  `| --- | --- | --- | --- | --- | --- |${replicasColumn[1]}`,
];
for (const name of names) {
  const trainer = resolveTrainer(name, external);
  for (const scenario of scenarios) {
    const result = await runCheck(trainer, scenario, { device });
    const framework = result.trainerInfo?.framework ? frameworkLabel(result.trainerInfo) : "-";
    rows.push(
      `| ${name} | ${framework} | ${scenarioShape(scenario)} | ${cells(result).join(" | ")} |`,
    );
  }
}
await disposePythonWorkers();
const lengths =
  weighting === "tokens" ? `, loss tokens per sample drawn from ${DEFAULT_LENGTHS}` : "";
console.log(
  `Fingerprint model, ${precision}, device ${device}, world size ${worldSize}, ${weighting} weighting${lengths}.\n`,
);
console.log(rows.join("\n"));
