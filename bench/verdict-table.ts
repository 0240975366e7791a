import { writeFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { PRECISIONS, WEIGHTINGS } from "../trainers/contract/scenario.js";
import { disposePythonWorkers } from "../trainers/external/index.js";
import { pageTables, verdictPage } from "./verdict-page.js";
import { defaultTrainerNames, verdictTable } from "./verdicts.js";

// `npm run verdicts`: one table of verdicts on the mission's two scenarios, printed.
// `npm run verdicts:write` (--write FILE): every table of docs/verdicts.md, written to FILE.
const { values } = parseArgs({
  options: {
    trainer: { type: "string", multiple: true },
    device: { type: "string", default: "cpu" },
    precision: { type: "string", default: "fp32" },
    python: { type: "string" },
    "world-size": { type: "string", default: "1" },
    weighting: { type: "string", default: "samples" },
    write: { type: "string" },
  },
});

if (values.write !== undefined) {
  const chosen = ["trainer", "device", "precision", "world-size", "weighting"].filter((flag) =>
    process.argv.some((arg) => arg === `--${flag}` || arg.startsWith(`--${flag}=`)),
  );
  if (chosen.length > 0)
    throw new Error(
      `--write: the page holds every trainer in fp32 on the CPU, both weightings and two ranks; expected no ${chosen.map((f) => `--${f}`).join(", ")}`,
    );
  const tables = await pageTables(values.python);
  writeFileSync(values.write, verdictPage(tables, new Date().toISOString().slice(0, 10)));
  console.log(`wrote ${values.write}`);
} else {
  const weighting = WEIGHTINGS.find((w) => w === values.weighting);
  if (!weighting)
    throw new Error(
      `--weighting: expected one of ${WEIGHTINGS.join(", ")}, saw ${values.weighting}`,
    );
  const worldSize = Number(values["world-size"]);
  if (!Number.isInteger(worldSize) || worldSize < 1)
    throw new Error(
      `--world-size: expected a whole number of at least 1, saw ${values["world-size"]}`,
    );
  const precision = PRECISIONS.find((p) => p === values.precision);
  if (!precision)
    throw new Error(
      `--precision: expected one of ${PRECISIONS.join(", ")}, saw ${values.precision}`,
    );
  const run = {
    device: values.device === "cuda" ? ("cuda" as const) : ("cpu" as const),
    precision,
    worldSize,
    weighting,
    ...(values.python ? { python: values.python } : {}),
  };
  const table = await verdictTable(run, values.trainer ?? (await defaultTrainerNames(run)));
  await disposePythonWorkers();
  console.log(`${table.note}\n`);
  console.log(table.lines.join("\n"));
}
