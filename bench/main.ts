import { parseArgs } from "node:util";
import { BACKENDS, type Backend } from "../trainers/contract/trainer.js";
import { createTfjsTrainers } from "../trainers/tfjs/index.js";
import { BENCH_SCENARIOS, fullCheckCaseRunners, recordingCaseRunners } from "./cases.js";
import { measureCases } from "./measure.js";
import { formatBenchTable } from "./table.js";

const { values } = parseArgs({
  options: {
    backend: { type: "string", default: "cpu" },
    repetitions: { type: "string", default: "15" },
  },
});

const backend = values.backend as Backend;
if (!BACKENDS.includes(backend)) {
  console.error(`--backend: expected one of ${BACKENDS.join(", ")}, saw ${values.backend}`);
  process.exit(2);
}
const repetitions = Number(values.repetitions);
if (!Number.isInteger(repetitions) || repetitions < 1) {
  console.error(`--repetitions: expected a whole number of at least 1, saw ${values.repetitions}`);
  process.exit(2);
}

const trainers = createTfjsTrainers();
const runners = [
  ...recordingCaseRunners(trainers, BENCH_SCENARIOS, { backend }),
  ...fullCheckCaseRunners(trainers, BENCH_SCENARIOS, { backend }),
];
const rows = await measureCases(runners, { repetitions });
console.log(
  `accumaudit bench: built-in tfjs trainers, fingerprint model, backend ${backend}, node ${process.version}, ${repetitions} interleaved repetitions, medians.`,
);
console.log(
  "overhead = time recording the trace (rows named after a trainer), or time of a whole check: recording, oracle and properties (rows ending in 'full check'), / time training the same scenario without recording.\n",
);
console.log(formatBenchTable(rows));
