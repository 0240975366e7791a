import { parseArgs } from "node:util";
import type { CheckOutcome } from "../properties/outcome.js";
import { runCheck } from "../properties/run-check.js";
import { checkErrorMessage } from "../reports/sentences/index.js";
import { frameworkLabel, scenarioShape } from "../reports/words.js";
import { PRECISIONS, parseScenario, type Scenario } from "../trainers/contract/scenario.js";
import { disposePythonWorkers, PYTHON_TRAINER_NAMES } from "../trainers/external/index.js";
import { resolveTrainer } from "../trainers/registry.js";
import { tfjsTrainerNames } from "../trainers/tfjs/index.js";

const { values } = parseArgs({
  options: {
    trainer: { type: "string", multiple: true },
    device: { type: "string", default: "cpu" },
    precision: { type: "string", default: "fp32" },
    python: { type: "string" },
  },
});
const device = values.device === "cuda" ? "cuda" : "cpu";
const precision = PRECISIONS.find((p) => p === values.precision);
if (!precision)
  throw new Error(`--precision: expected one of ${PRECISIONS.join(", ")}, saw ${values.precision}`);
const names = values.trainer ?? [...tfjsTrainerNames, ...PYTHON_TRAINER_NAMES];
const scenarios: Scenario[] = [
  parseScenario({ datasetSize: 110, batchSize: 8, accumulation: 4, epochs: 2, precision }),
  parseScenario({ datasetSize: 1000, batchSize: 128, accumulation: 4, precision }),
];

const fmt = (x: number) => (x === 0 ? "0" : x < 1e-3 ? x.toExponential(1) : x.toFixed(3));

function cells(r: CheckOutcome): string[] {
  if (r.verdict === "error") return ["error", "error", `error: ${checkErrorMessage(r.error)}`];
  const p = r.properties;
  const c = p.coverage;
  const lost = c.epochs.reduce((n, e) => n + e.lost, 0);
  const leaked = c.epochs.reduce((n, e) => n + e.leaked, 0);
  const coverage = c.ok ? "pass" : `FAIL (${leaked} leaked, ${lost} lost)`;
  const weighting = `${p.weighting.ok ? "pass" : "FAIL"} (${fmt(p.weighting.maxRelError)})`;
  return [coverage, weighting, p.windowing.ok ? "pass" : "FAIL"];
}

const rows = [
  `| trainer | framework | scenario | coverage | weighting (max rel. error) | windowing |`,
  `| --- | --- | --- | --- | --- | --- |`,
];
for (const name of names) {
  const trainer = resolveTrainer(name, {
    device,
    ...(values.python ? { python: values.python } : {}),
  });
  for (const scenario of scenarios) {
    const result = await runCheck(trainer, scenario, { device });
    const framework = result.trainerInfo?.framework ? frameworkLabel(result.trainerInfo) : "-";
    rows.push(
      `| ${name} | ${framework} | ${scenarioShape(scenario)} | ${cells(result).join(" | ")} |`,
    );
  }
}
await disposePythonWorkers();
console.log(`Fingerprint model, ${precision}, device ${device}.\n`);
console.log(rows.join("\n"));
