import { availableParallelism } from "node:os";
import { DEFAULT_SPACE } from "../../properties/arbitraries.js";
import { auditTrainer } from "../../properties/audit.js";
import type { TrainerAuditOutcome } from "../../properties/outcome.js";
import { printable } from "../../reports/printable.js";
import { formatList } from "../../reports/words.js";
import { MODELS } from "../../trainers/contract/scenario.js";
import type { Trainer } from "../../trainers/contract/trainer.js";
import { setPythonWorkerPoolSize } from "../../trainers/external/python-trainer.js";
import { builtInTrainerNames, resolveTrainer } from "../../trainers/registry.js";
import { setTfjsThreadPoolSize, THREADED_BACKENDS } from "../../trainers/tfjs/thread-pool.js";
import { watchInterrupts } from "../interrupt.js";
import { integerFlag, RUN_FLAGS } from "../options.js";
import { forwardTrainerOutput, reportersFromFlags } from "../outputs.js";
import { parseFlags } from "../parse-flags.js";
import { shellWord } from "../replay.js";
import { assertPythonStarts, assertRunFlagsApply, runContextFromFlags } from "../run-context.js";
import { RUN_USAGE, runMeta } from "../run-meta.js";
import { scenarioHelp, scenarioOptions, scenarioUsage } from "../scenario-flags.js";
import { LIST_FIELDS, searchSpaceFromFlags } from "../search-space.js";
import { UsageError } from "../usage-error.js";

const AUDIT_FLAGS = {
  ...RUN_FLAGS,
  ...scenarioOptions(),
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
  "step-semantics": { type: "boolean" },
} as const;

const DEFAULT_RUNS = 100;
/** Default --jobs: the cores, at most 4 (each Python worker holds its frameworks in memory). */
const DEFAULT_JOBS = Math.min(availableParallelism(), 4);

export const AUDIT_USAGE = [
  "accumaudit audit [--trainer NAME]... [--runs N] [--seed S] [--path P] [--jobs J]",
  ...scenarioUsage(92, { allOptional: true, repeatable: LIST_FIELDS }).map((line) => `  ${line}`),
  "  [--max-dataset-size N] [--max-epochs E] [--step-semantics]",
  ...RUN_USAGE,
  `Without --trainer, audits the built-in trainers; --runs defaults to ${DEFAULT_RUNS}.`,
  "A scenario flag pins its field: every generated scenario keeps the value given, the other fields are drawn and shrink as before; --precision, --model or --weighting given more than once is a list to draw from. --drop-last draws only scenarios it applies to (N >= B x W).",
  `--max-dataset-size N bounds the generated dataset sizes (default ${DEFAULT_SPACE.maxDatasetSize}, raised to a pinned --dataset-size and to two full windows of the pinned B, K and W); --max-epochs E the epochs (default ${DEFAULT_SPACE.maxEpochs}). A pin beyond a bound given is a usage error.`,
  "The known counterexamples (110/8/4 over 2 epochs: an incomplete last window; 1000/128/4: a short last micro-batch beside full ones) are checked with the pins applied, each only while it is a valid scenario that still has what it is kept for; the output names those left out and why.",
  `--jobs J: search cases checked at once, each in its own worker process for a python: trainer (default ${DEFAULT_JOBS}: the cores, at most 4); the outcome is the same for every J. The built-in trainers run one case at a time in the main thread unless --jobs is given: then each in its own thread on --backend ${THREADED_BACKENDS.join(" or ")} (measured slower than one job on a 2-core machine, see docs/benchmarks.md: a thread's start and each trace's transfer cost more than a generated case takes).`,
  "--step-semantics draws what a step does beyond its gradient too: --clip-norm, --schedule with --warmup-steps, --ema, --optimizer and, under fp16, --overflow-step (each shrinks towards off); any of them given as a flag is pinned instead.",
  `--weighting: the full-batch reference to hold the trainers to (default samples); tokens draws loss-token counts per sample and the models ${MODELS.filter((m) => m === "fingerprint" || m === "causal-lm").join(" and ")}.`,
  `Trainers that run data-parallel are searched over 1 to ${DEFAULT_SPACE.maxWorldSize} ranks; --world-size W checks W ranks only.`,
].join("\n");

/**
 * A pinned --world-size that no trainer given runs is a usage error naming them and their most
 * ranks. Where some trainer runs it, each of the others says so in its own audit; a trainer whose
 * worker cannot say is left to its audit too.
 */
async function assertWorldSizeRuns(
  trainers: readonly Trainer[],
  worldSize: number | undefined,
): Promise<void> {
  if (worldSize === undefined || worldSize === 1) return;
  const most = await Promise.all(
    trainers.map((t) => (t.maxWorldSize ? t.maxWorldSize().catch(() => undefined) : 1)),
  );
  const [only, ...others] = trainers;
  if (!only || most.some((m) => m === undefined || m >= worldSize)) return;
  if (others.length > 0) {
    const largest = Math.max(...most.map((m) => m ?? 1));
    throw new UsageError(
      `--world-size: expected at most ${largest} for ${formatList(trainers.map((t) => printable(t.name)))} (${largest === 1 ? "each runs in one process" : "the most ranks one of them runs"}), saw ${worldSize}`,
    );
  }
  const its = most[0] ?? 1;
  // A python:MODULE:FUNCTION trainer runs data-parallel once marked so (trainers/python/API.md).
  const unless = /^python:[^:]+:/.test(only.name)
    ? " unless marked with @accumaudit_probe.distributed"
    : "";
  throw new UsageError(
    `--world-size: expected at most ${its} for ${printable(only.name)} (${its === 1 ? `it runs in one process${unless}` : `it runs up to ${its} ranks`}), saw ${worldSize}`,
  );
}

/** `accumaudit audit`: a property search per trainer. Returns the exit code. */
export async function auditCommand(args: string[]): Promise<number> {
  const { values } = parseFlags(args, AUDIT_FLAGS);
  if (values.help) {
    process.stdout.write(
      `${AUDIT_USAGE}\n\nScenario (each flag given pins its field; the others are drawn):\n${scenarioHelp(true)}\n`,
    );
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
  // The path's first number is the failing case's index among the search's --runs cases.
  const first = path?.split(":")[0] ?? "0";
  if (Number(first) >= runs)
    throw new UsageError(
      `--path: expected a first number from 0 to ${runs - 1} (below --runs ${runs}), saw ${first}; give the --runs of the search that printed it`,
    );
  const jobs = integerFlag(values, "jobs", 1, 64) ?? DEFAULT_JOBS;
  const search = searchSpaceFromFlags(values);
  const { space } = search;
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
  await assertPythonStarts(values, names);
  const trainers: Trainer[] = names.map((name) => resolveTrainer(name, context.external));
  // Starts each external trainer's worker now, while the report is set up and earlier trainers
  // are audited; a worker that cannot start is reported by that trainer's own audit.
  for (const trainer of trainers) trainer.maxWorldSize?.().catch(() => undefined);
  await assertWorldSizeRuns(trainers, space.pinned.worldSize);
  const regressions = search.regressions.kept;
  const audits: TrainerAuditOutcome[] = [];
  const interrupt = watchInterrupts();
  try {
    await reporter.onRunStart({
      kind: "audit",
      meta: runMeta(context, {
        precision: (space.pinned.precision
          ? [space.pinned.precision]
          : (space.precisions ?? DEFAULT_SPACE.precisions)
        ).join(", "),
        weighting: (space.pinned.weighting
          ? [space.pinned.weighting]
          : (space.weightings ?? DEFAULT_SPACE.weightings)
        ).join(", "),
        command: ["audit", ...args],
        seed,
        runs,
      }),
      trainers: trainers.map((t) => t.name),
      replay: context.replay,
      searchReplay: (seed, path) =>
        ["--seed", String(seed), "--path", path, ...search.flags].map(shellWord).join(" "),
      pinned: space.pinned,
      regressionsLeftOut: search.regressions.leftOut,
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
        onCaseProgress: (p) => reporter.onCaseProgress(p),
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
