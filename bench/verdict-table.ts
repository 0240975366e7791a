import { parseArgs } from "node:util";
import type { CheckResult } from "../properties/result.js";
import { runCheck } from "../properties/run-check.js";
import {
  PRECISIONS,
  parseScenario,
  type Scenario,
  scenarioShape,
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

function cells(r: CheckResult): string[] {
  const p = r.properties;
  if (!p) return ["error", "error", `error: ${r.error ?? ""}`];
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
    const { result } = await runCheck(trainer, scenario, { device });
    const info = result.trainerInfo;
    const framework = info?.framework
      ? `${info.framework} ${info.frameworkVersion ?? ""}`.trim()
      : "-";
    rows.push(
      `| ${name} | ${framework} | ${scenarioShape(scenario)} | ${cells(result).join(" | ")} |`,
    );
  }
}
await disposePythonWorkers();
console.log(`Fingerprint model, ${precision}, device ${device}.\n`);
console.log(rows.join("\n"));
