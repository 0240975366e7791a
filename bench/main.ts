import { parseArgs } from "node:util";
import { BACKENDS, type Backend } from "../trainers/contract/trainer.js";
import { createTfjsTrainers, THREADED_BACKENDS } from "../trainers/tfjs/index.js";
import { reportBareLoops } from "./bare-loop.js";
import { BENCH_SCENARIOS, benchCaseRunners } from "./cases.js";
import { measureWorldSizes } from "./data-parallel.js";
import { measureCases } from "./measure.js";
import { growthExponent, measureScaling } from "./scaling.js";
import { measureFreshAudit, measureSearchJobs } from "./search-jobs.js";
import { formatBenchTable } from "./table.js";
import { measureWorkerThroughput } from "./worker-throughput.js";

const { values } = parseArgs({
  options: {
    backend: { type: "string", default: "cpu" },
    repetitions: { type: "string", default: "15" },
    "python-cases": { type: "string", default: "12" },
    "scaling-sizes": { type: "string", default: "1000,10000,100000,1000000" },
    "scaling-skip-after": { type: "string", default: "120" },
    "bare-sizes": { type: "string", default: "1000,10000,100000" },
    "bare-repetitions": { type: "string", default: "15" },
    "bare-model": { type: "string", default: "fingerprint" },
    "search-runs": { type: "string", default: "300" },
    "fresh-runs": { type: "string", default: "100" },
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

const searchRuns = Number(values["search-runs"]);
const freshRuns = Number(values["fresh-runs"]);
for (const flag of ["search-runs", "fresh-runs"] as const)
  if (!Number.isInteger(Number(values[flag])) || Number(values[flag]) < 1) {
    console.error(`--${flag}: expected a whole number of at least 1, saw ${values[flag]}`);
    process.exit(2);
  }

const trainers = createTfjsTrainers();
const runners = [
  ...benchCaseRunners("recording", trainers, BENCH_SCENARIOS, { backend }),
  ...benchCaseRunners("full check", trainers, BENCH_SCENARIOS, { backend }),
];
const rows = await measureCases(runners, { repetitions });
console.log(
  `accumaudit bench: built-in tfjs trainers, fingerprint model, backend ${backend}, node ${process.version}, ${repetitions} interleaved repetitions, medians.`,
);
console.log(
  "overhead = time recording the trace (rows named after a trainer), or time of a whole check: recording, oracle and properties (rows ending in 'full check'), / time training the same scenario without recording.\n",
);
console.log(formatBenchTable(rows));

const pythonCases = Number(values["python-cases"]);
if (pythonCases > 0) {
  console.log(
    `\nExternal trainers: ${pythonCases} cases of 110/8/4 x2 (logistic body) each way, through one long-lived Python worker and through a new worker process per case.\n`,
  );
  console.log("| trainer | long-lived worker cases/s | process per case cases/s | speed-up (x) |");
  console.log("| --- | ---: | ---: | ---: |");
  for (const trainer of ["reference", "lightning"]) {
    try {
      const f = await measureWorkerThroughput({ trainer, cases: pythonCases });
      console.log(
        `| python:${trainer} | ${f.longLived.casesPerSecond.toFixed(2)} | ${f.processPerCase.casesPerSecond.toFixed(2)} | ${f.speedup.toFixed(1)} |`,
      );
    } catch (error) {
      console.log(`| python:${trainer} | not measured: ${String(error).split("\n")[0]} | | |`);
    }
  }
}

if (pythonCases > 0) {
  console.log(
    `\nData-parallel through the Python worker: python:ddp-reference, ${pythonCases} whole checks of 110/8/4 x2 (logistic body) per world size, interleaved (gloo on CPU; each W > 1 case starts and joins its ranks).\n`,
  );
  console.log("| world size W | cases/s | median s/case | cases |");
  console.log("| ---: | ---: | ---: | ---: |");
  try {
    for (const f of await measureWorldSizes({
      trainer: "python:ddp-reference",
      worldSizes: [1, 2],
      cases: pythonCases,
    }))
      console.log(
        `| ${f.worldSize} | ${f.casesPerSecond.toFixed(2)} | ${f.medianSeconds.toFixed(2)} | ${f.cases} |`,
      );
  } catch (error) {
    console.log(`| not measured: ${String(error).split("\n")[0]} | | | |`);
  }
}

{
  const runs = searchRuns;
  const searched = [
    // Threads serve cpu and wasm only (THREADED_BACKENDS); other backends get the J = 1 row.
    ...["reference", "docs-loop"].map((trainer) => ({
      trainer,
      runs,
      jobs: THREADED_BACKENDS.includes(backend) ? [1, 2] : [1],
      runOptions: { backend },
    })),
    ...(pythonCases > 0 ? [{ trainer: "python:reference", runs }] : []),
  ];
  console.log(
    `\nProperty search, --jobs 1 against --jobs J: audits of the built-in reference and docs-loop (${runs} generated cases, backend ${backend}; J = 2 TensorFlow.js threads)${pythonCases > 0 ? ` and of python:reference through Python workers (${runs} cases, J = the cores, at most 4)` : ""}, default scenario space, each after an untimed audit of as many cases with another seed (workers and threads started, code compiled). The reference trainers pass, so every generated case runs; docs-loop is refuted: its cases are the search up to the first failing case (in parallel), then its shrinking (one at a time).\n`,
  );
  console.log("| trainer | jobs | cases | seconds | cases/s |");
  console.log("| --- | ---: | ---: | ---: | ---: |");
  for (const measured of searched) {
    try {
      for (const f of await measureSearchJobs(measured))
        console.log(
          `| ${measured.trainer} | ${f.jobs} | ${f.cases} | ${f.seconds.toFixed(2)} | ${f.casesPerSecond.toFixed(1)} |`,
        );
    } catch (error) {
      console.log(`| ${measured.trainer} | not measured: ${String(error).split("\n")[0]} | | | |`);
    }
  }
}

{
  const trainersAudited = ["reference", ...(pythonCases > 0 ? ["python:reference"] : [])];
  console.log(
    `\nWhole audits as a user runs them: \`accumaudit audit --trainer T --runs ${freshRuns} --report FILE\`, each in a fresh process (start-up, the Python worker's start, the three mission scenarios, the search and the report, default --jobs). cases/s = generated cases / wall time.\n`,
  );
  console.log("| trainer | runs | seconds | cases/s | exit code |");
  console.log("| --- | ---: | ---: | ---: | ---: |");
  for (const trainer of trainersAudited) {
    const f = measureFreshAudit(trainer, freshRuns);
    console.log(
      `| ${trainer} | ${f.runs} | ${f.seconds.toFixed(2)} | ${f.casesPerSecond.toFixed(1)} | ${f.exitCode} |`,
    );
  }
}

const bareSizes = (values["bare-sizes"] ?? "")
  .split(",")
  .filter((part) => part.trim() !== "")
  .map(Number);
if (bareSizes.length > 0)
  await reportBareLoops({
    sizes: bareSizes,
    repetitions: Number(values["bare-repetitions"]),
    model: values["bare-model"] as "fingerprint" | "logistic",
    backend,
  });

const scalingSizes = (values["scaling-sizes"] ?? "")
  .split(",")
  .filter((part) => part.trim() !== "")
  .map(Number);
if (scalingSizes.some((n) => !Number.isInteger(n) || n < 1)) {
  console.error(
    `--scaling-sizes: expected whole numbers separated by commas, saw ${values["scaling-sizes"]}`,
  );
  process.exit(2);
}
if (scalingSizes.length > 0) {
  const skipAfterSeconds = Number(values["scaling-skip-after"]);
  console.log(
    `\nScaling of one check (\`accumaudit check --trainer T --dataset-size N --batch-size 32 --accumulation 4\`, one epoch, a fresh process each; peak = resident memory of the largest process, GNU time; a trainer's larger N are skipped after a check over ${skipAfterSeconds} s).\n`,
  );
  console.log("| trainer | N | seconds | peak MB | exit |");
  console.log("| --- | ---: | ---: | ---: | ---: |");
  const trainersScaled = ["reference", "two-loop", "python:reference"];
  const points = measureScaling(
    {
      trainers: trainersScaled,
      sizes: scalingSizes,
      batchSize: 32,
      accumulation: 4,
      skipAfterSeconds,
    },
    (point) =>
      console.log(
        "skipped" in point
          ? `| ${point.trainer} | ${point.datasetSize} | skipped | | |`
          : `| ${point.trainer} | ${point.datasetSize} | ${point.seconds.toFixed(2)} | ${
              point.peakKb === null ? "-" : (point.peakKb / 1024).toFixed(0)
            } | ${point.exitCode} |`,
      ),
  );
  console.log("");
  for (const trainer of trainersScaled) {
    const exponent = growthExponent(
      points.filter((p) => p.trainer === trainer),
      1e4,
      1e6,
    );
    console.log(
      `- ${trainer}: growth exponent between N = 1e4 and 1e6: ${exponent === null ? "not measured (fewer than two sizes)" : exponent.toFixed(2)}`,
    );
  }
}
