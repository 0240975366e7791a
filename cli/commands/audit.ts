import { availableParallelism } from "node:os";
import { DEFAULT_SPACE, missionScenarios } from "../../properties/arbitraries.js";
import { auditTrainer } from "../../properties/audit.js";
import type { TrainerAuditOutcome } from "../../properties/outcome.js";
import {
  MAX_WORLD_SIZE,
  MODELS,
  MODELS_BY_WEIGHTING,
  PRECISIONS,
  type Scenario,
  WEIGHTINGS,
} from "../../trainers/contract/scenario.js";
import { scenarioField } from "../../trainers/contract/scenario-fields.js";
import type { Trainer } from "../../trainers/contract/trainer.js";
import { setPythonWorkerPoolSize } from "../../trainers/external/python-trainer.js";
import { builtInTrainerNames, resolveTrainer } from "../../trainers/registry.js";
import { setTfjsThreadPoolSize, THREADED_BACKENDS } from "../../trainers/tfjs/thread-pool.js";
import { watchInterrupts } from "../interrupt.js";
import { choiceList, integerFlag, RUN_FLAGS } from "../options.js";
import { forwardTrainerOutput, reportersFromFlags } from "../outputs.js";
import { parseFlags } from "../parse-flags.js";
import { assertRunFlagsApply, runContextFromFlags } from "../run-context.js";
import { RUN_USAGE, runMeta } from "../run-meta.js";
import { UsageError } from "../usage-error.js";

const AUDIT_FLAGS = {
  ...RUN_FLAGS,
  trainer: { type: "string", multiple: true },
  runs: { type: "string" },
  seed: { type: "string" },
  jobs: { type: "string" },
  path: { type: "string" },
  precision: { type: "string", multiple: true },
  model: { type: "string", multiple: true },
  weighting: { type: "string", multiple: true },
  "max-dataset-size": { type: "string" },
  "max-epochs": { type: "string" },
  "world-size": { type: "string" },
} as const;

const DEFAULT_RUNS = 100;
/** Default --jobs: the cores, at most 4 (each Python worker holds its frameworks in memory). */
const DEFAULT_JOBS = Math.min(availableParallelism(), 4);

export const AUDIT_USAGE = [
  "accumaudit audit [--trainer NAME]... [--runs N] [--seed S] [--path P] [--jobs J]",
  `  [${scenarioField("precision").flag} ${PRECISIONS.join("|")}]... [${scenarioField("model").flag} ${MODELS.join("|")}]...`,
  `  [${scenarioField("weighting").flag} ${WEIGHTINGS.join("|")}]... [--max-dataset-size N] [--max-epochs E] [${scenarioField("worldSize").flag} W]`,
  ...RUN_USAGE,
  `Without --trainer, audits the built-in trainers; --runs defaults to ${DEFAULT_RUNS}.`,
  `--jobs J: search cases checked at once, each in its own worker process for a python: trainer (default ${DEFAULT_JOBS}: the cores, at most 4); the outcome is the same for every J. The built-in trainers run one case at a time in the main thread unless --jobs is given: then each in its own thread on --backend ${THREADED_BACKENDS.join(" or ")} (measured slower than one job on a 2-core machine, see the README's benchmarks: a thread's start and each trace's transfer cost more than a generated case takes).`,
  `--weighting: the full-batch reference to hold the trainers to (default samples); tokens draws loss-token counts per sample and the models ${MODELS.filter((m) => m === "fingerprint" || m === "causal-lm").join(" and ")}.`,
  `Trainers that run data-parallel are searched over 1 to ${DEFAULT_SPACE.maxWorldSize} ranks; --world-size W checks W ranks only, the known counterexamples included.`,
].join("\n");

/** A listed model that no listed weighting trains (causal-lm under sample weighting) is a usage error. */
function assertModelsFitWeightings(
  models: ReadonlyArray<Scenario["model"]> | undefined,
  weightings: ReadonlyArray<Scenario["weighting"]> = DEFAULT_SPACE.weightings,
): void {
  for (const model of models ?? []) {
    const fits = weightings.filter((w) =>
      (MODELS_BY_WEIGHTING[w] as ReadonlyArray<Scenario["model"]>).includes(model),
    );
    if (fits.length === 0) {
      const needs = WEIGHTINGS.filter((w) =>
        (MODELS_BY_WEIGHTING[w] as ReadonlyArray<Scenario["model"]>).includes(model),
      );
      throw new UsageError(
        `--model ${model}: expected a model that ${weightings.join(" or ")} weighting trains (${weightings.flatMap((w) => MODELS_BY_WEIGHTING[w]).join(", ")}); add --weighting ${needs.join(" or ")}`,
      );
    }
  }
}

/** `accumaudit audit`: a property search per trainer. Returns the exit code. */
export async function auditCommand(args: string[]): Promise<number> {
  const { values } = parseFlags(args, AUDIT_FLAGS);
  if (values.help) {
    process.stdout.write(`${AUDIT_USAGE}\n`);
    return 0;
  }
  const runs = integerFlag(values, "runs", 1, 1_000_000) ?? DEFAULT_RUNS;
  const seed =
    integerFlag(values, "seed", -0x80000000, 0x7fffffff) ??
    (Date.now() ^ (Math.random() * 0x7fffffff)) | 0;
  const path = typeof values.path === "string" ? values.path : undefined;
  if (path !== undefined && !/^\d+(:\d+)*$/.test(path))
    throw new UsageError(`--path: expected numbers joined by ':', saw "${path}"`);
  if (path !== undefined && values.seed === undefined)
    throw new UsageError(
      "--path: replays a search only together with its --seed (a counterexample prints both)",
    );
  const jobs = integerFlag(values, "jobs", 1, 64) ?? DEFAULT_JOBS;
  const worldSize = integerFlag(values, "world-size", 1, MAX_WORLD_SIZE);
  const space = {
    ...(values.precision ? { precisions: choiceList(values, "precision", PRECISIONS) } : {}),
    ...(values.model ? { models: choiceList(values, "model", MODELS) } : {}),
    ...(values.weighting ? { weightings: choiceList(values, "weighting", WEIGHTINGS) } : {}),
    maxDatasetSize:
      integerFlag(values, "max-dataset-size", 1, 1_000_000) ?? DEFAULT_SPACE.maxDatasetSize,
    maxEpochs: integerFlag(values, "max-epochs", 1, 1000) ?? DEFAULT_SPACE.maxEpochs,
    ...(worldSize === undefined ? {} : { minWorldSize: worldSize, maxWorldSize: worldSize }),
  };
  assertModelsFitWeightings(space.models, space.weightings);
  const names =
    values.trainer && values.trainer.length > 0 ? values.trainer : builtInTrainerNames();
  assertRunFlagsApply(values, names);
  const context = runContextFromFlags(values);
  const reporter = await reportersFromFlags(values);
  forwardTrainerOutput();
  setPythonWorkerPoolSize(jobs);
  // Threads for the built-in trainers only when asked for: on the default scenario space a search
  // is faster in the main thread (npm run bench: reference 61.8 cases/s at --jobs 1, 49.9 on two
  // threads). webgpu and tensorflow stay in the main thread (see THREADED_BACKENDS).
  const threaded =
    values.jobs !== undefined && THREADED_BACKENDS.includes(context.runOptions.backend ?? "cpu");
  setTfjsThreadPoolSize(threaded ? jobs : 1);
  const trainers: Trainer[] = names.map((name) => resolveTrainer(name, context.external));
  // Starts each external trainer's worker now, while the report is set up and earlier trainers
  // are audited; a worker that cannot start is reported by that trainer's own audit.
  for (const trainer of trainers) trainer.maxWorldSize?.().catch(() => undefined);
  const regressions = missionScenarios(
    space.models?.[0],
    space.precisions?.[0],
    worldSize,
    space.weightings?.[0],
  );
  const audits: TrainerAuditOutcome[] = [];
  const interrupt = watchInterrupts();
  try {
    await reporter.onRunStart({
      kind: "audit",
      meta: runMeta(context, {
        precision: (space.precisions ?? DEFAULT_SPACE.precisions).join(", "),
        weighting: (space.weightings ?? DEFAULT_SPACE.weightings).join(", "),
        command: ["audit", ...args],
        seed,
        runs,
      }),
      trainers: trainers.map((t) => t.name),
      replay: context.replay,
    });
    for (const trainer of trainers) {
      const audit = await auditTrainer(trainer, {
        runs,
        seed,
        ...(path === undefined ? {} : { path }),
        space,
        regressions,
        runOptions: context.runOptions,
        jobs,
        onProgress: (p) => reporter.onProgress(p),
        signal: interrupt.signal,
      });
      // An audit cut short by a signal is incomplete: it is reported as not reached.
      if (interrupt.received) break;
      audits.push(audit);
      await reporter.onTrainerEnd(audit);
    }
    const signal = interrupt.received;
    await reporter.onRunEnd({
      audits,
      ...(signal
        ? {
            interrupted: {
              signal,
              completed: audits.length,
              total: trainers.length,
              notReached: trainers.slice(audits.length).map((t) => t.name),
            },
          }
        : {}),
    });
  } finally {
    interrupt.dispose();
    await Promise.all(trainers.map((t) => t.dispose?.()));
  }
  if (interrupt.received) return 130;
  if (audits.some((a) => a.verdict === "error")) return 2;
  return audits.some((a) => a.verdict === "fail") ? 1 : 0;
}
