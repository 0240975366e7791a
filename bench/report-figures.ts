import { existsSync, mkdtempSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { runCheck } from "../properties/run-check.js";
import { renderCheckReport } from "../reports/html/index.js";
import { writeReport } from "../reports/write-report.js";
import { parseScenario, type ScenarioInput } from "../trainers/contract/scenario.js";
import { resolveTrainer } from "../trainers/registry.js";
import { CHROMIUM_PATH, launchChromium } from "./chromium.js";
import { median } from "./measure.js";

/** Size, Node render time and Chromium load time of `check --report` pages, for docs/reports.md. */
const CASES: Array<{ label: string; trainer: string; scenario: ScenarioInput }> = [
  {
    label: "N = 110 (docs-loop, 110/8/4, 2 epochs)",
    trainer: "docs-loop",
    scenario: { datasetSize: 110, batchSize: 8, accumulation: 4, epochs: 2 },
  },
  {
    label: "N = 10,000 (docs-loop, 10000/32/3, 3 epochs, shuffled)",
    trainer: "docs-loop",
    scenario: { datasetSize: 10_000, batchSize: 32, accumulation: 3, epochs: 3, shuffle: 1 },
  },
];
const REPETITIONS = 5;

const dir = mkdtempSync(join(tmpdir(), "accumaudit-report-figures-"));
const browser = existsSync(CHROMIUM_PATH) ? await launchChromium() : null;
console.log(
  `Report figures: median of ${REPETITIONS} renders and ${REPETITIONS} Chromium loads each.\n`,
);
console.log("| report | size (bytes) | Node render (ms) | Chromium load (ms) |");
console.log("| --- | ---: | ---: | ---: |");
for (const { label, trainer, scenario } of CASES) {
  const check = await runCheck(resolveTrainer(trainer), parseScenario(scenario));
  const meta = {
    harnessVersion: "bench",
    date: new Date().toISOString(),
    backend: "cpu",
    precision: "fp32",
  };
  const renders: number[] = [];
  let html = "";
  for (let k = 0; k < REPETITIONS; k++) {
    const started = performance.now();
    html = await renderCheckReport({ check, run: { meta } });
    renders.push(performance.now() - started);
  }
  const file = join(dir, `${trainer}-${scenario.datasetSize}.html`);
  await writeReport(file, html);
  const loads: number[] = [];
  for (let k = 0; browser && k < REPETITIONS; k++) {
    const page = await browser.newPage();
    const started = performance.now();
    await page.goto(pathToFileURL(file).href, { waitUntil: "load" });
    loads.push(performance.now() - started);
    await page.close();
  }
  const load = loads.length > 0 ? median(loads).toFixed(0) : `not measured (no ${CHROMIUM_PATH})`;
  console.log(`| ${label} | ${statSync(file).size} | ${median(renders).toFixed(0)} | ${load} |`);
}
await browser?.close();
