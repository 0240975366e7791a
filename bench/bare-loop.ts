import { performance } from "node:perf_hooks";
import { runCheck } from "../properties/run-check.js";
import { makeDataset } from "../trainers/contract/probe.js";
import { parseScenario, type Scenario } from "../trainers/contract/scenario.js";
import type { Backend, RunOptions, Trainer } from "../trainers/contract/trainer.js";
import {
  createPythonTrainer,
  disposePythonWorkers,
  pythonWorker,
} from "../trainers/external/python-trainer.js";
import { referenceTrainer } from "../trainers/tfjs/loops/reference.js";
import { BarePythonLoop } from "./bare-python.js";
import { trainBareTfjs } from "./bare-tfjs.js";
import { type CaseRunner, measureCases } from "./measure.js";

/** The target of issue 12: a full check at most this many times the bare loop at N >= 1e4. */
export const BARE_LOOP_TARGET = 1.2;
/** The smallest N the target is stated for. */
export const BARE_LOOP_TARGET_FROM = 1e4;

/** What {@link measureBareLoops} runs. */
export interface BareLoopOptions {
  /** Dataset sizes N (default 1e3, 1e4, 1e5). */
  sizes?: readonly number[];
  /** Micro-batch size B (default 32). */
  batchSize?: number;
  /** Accumulation K (default 4). */
  accumulation?: number;
  /** Probe body (default fingerprint: phi only). One epoch, no shuffle, fp32. */
  model?: "fingerprint" | "logistic";
  /** Interleaved repetitions per row (default 15). */
  repetitions?: number;
  /** Each repetition runs enough cases to last about this long (default 60 ms). */
  targetRepetitionMs?: number;
  /** Untimed warm-up per row (default 300 ms; 0 skips it and the first pass). */
  warmupMs?: number;
  /** TensorFlow.js backend of both tfjs sides (default cpu). */
  backend?: Backend;
  /** Interpreter of the Python worker and the bare script (as `--python` takes it). */
  python?: string;
  /** Which sides to measure (default both). */
  sides?: readonly BareLoopSide[];
}

/**
 * tfjs: `reference` against the bench's bare TensorFlow.js loop; pytorch: `python:reference`
 * against bench/bare_loop.py.
 */
export type BareLoopSide = "tfjs" | "pytorch";

/** One row: a full check against the bare loop on one scenario, medians of interleaved repetitions. */
export interface BareLoopRow {
  side: BareLoopSide;
  trainer: string;
  datasetSize: number;
  /** Median ms of one full check (runCheck: dataset, training and recording, oracle, properties). */
  fullCheckMs: number;
  /** Median ms of one bare-loop run (tfjs: wall time in Node; pytorch: timed inside Python). */
  bareLoopMs: number;
  /** Median over repetitions of full check / bare loop in the same repetition. */
  ratio: number;
  repetitions: number;
  casesPerRepetition: number;
}

/** The rows, and what the times leave out: the start of the processes, measured once. */
export interface BareLoopFigures {
  rows: BareLoopRow[];
  model: "fingerprint" | "logistic";
  batchSize: number;
  accumulation: number;
  /** Start of the Python worker (spawn, imports, handshake), ms; null without the pytorch side. */
  workerStartupMs: number | null;
  /** Start of bench/bare_loop.py (spawn, torch import), ms; null when pytorch is not measured. */
  bareScriptStartupMs: number | null;
  /** Intra-op threads torch reported in the bare script (the worker's environment). */
  torchThreads: number | null;
}

/** Runs a check and throws unless it passes, so that no row times an error path. */
async function passingCheck(
  trainer: Trainer,
  scenario: Scenario,
  options: RunOptions = {},
): Promise<void> {
  const outcome = await runCheck(trainer, scenario, { ...options, record: true });
  if (outcome.verdict !== "pass")
    throw new Error(
      `bare-loop bench: ${trainer.name} on N = ${scenario.datasetSize}: expected the check to pass, saw ${outcome.verdict}`,
    );
}

/**
 * Times a full check (`runCheck`) of `reference` (tfjs) and `python:reference` (through the
 * Python worker, started before timing) against a bare training loop the bench writes for the
 * same scenario (bench/bare-tfjs.ts, bench/bare_loop.py), per N: B = 32, K = 4, one epoch,
 * fingerprint model by default. Check and bare loop alternate within each repetition
 * ({@link measureCases}); the Python processes' start is measured once and left out of the rows.
 */
export async function measureBareLoops(options: BareLoopOptions = {}): Promise<BareLoopFigures> {
  const sizes = options.sizes ?? [1e3, 1e4, 1e5];
  const batchSize = options.batchSize ?? 32;
  const accumulation = options.accumulation ?? 4;
  const model = options.model ?? "fingerprint";
  const backend = options.backend ?? "cpu";
  const sides = options.sides ?? ["tfjs", "pytorch"];
  const repetitions = options.repetitions ?? 15;
  if (sizes.some((n) => !Number.isInteger(n) || n < 1))
    throw new RangeError(`bare-loop bench: sizes: expected whole numbers, saw ${sizes.join(",")}`);
  if (!Number.isInteger(repetitions) || repetitions < 1)
    throw new RangeError(
      `bare-loop bench: repetitions: expected a whole number of at least 1, saw ${repetitions}`,
    );
  if (model !== "fingerprint" && model !== "logistic")
    throw new RangeError(`bare-loop bench: model: expected fingerprint or logistic, saw ${model}`);
  const scenarios = sizes.map((datasetSize) =>
    parseScenario({ datasetSize, batchSize, accumulation, epochs: 1, model }),
  );
  let bare: BarePythonLoop | undefined;
  let workerStartupMs: number | null = null;
  try {
    const pythonSide = sides.includes("pytorch");
    if (pythonSide) {
      const started = performance.now();
      await pythonWorker(options.python).describe("reference");
      workerStartupMs = performance.now() - started;
      bare = await BarePythonLoop.start(options.python);
    }
    const python = pythonSide
      ? createPythonTrainer("python:reference", {
          ...(options.python ? { python: options.python } : {}),
          timeoutMs: 600_000,
        })
      : undefined;
    const runners: Array<CaseRunner & { side: BareLoopSide; datasetSize: number }> = [];
    for (const scenario of scenarios) {
      const label = String(scenario.datasetSize);
      if (sides.includes("tfjs")) {
        const dataset = makeDataset(scenario);
        runners.push({
          side: "tfjs",
          datasetSize: scenario.datasetSize,
          name: "reference",
          scenario: label,
          run: () => passingCheck(referenceTrainer, scenario, { backend }),
          baseline: () => trainBareTfjs(scenario, dataset, backend),
        });
      }
      const loop = bare;
      if (python !== undefined && loop !== undefined)
        runners.push({
          side: "pytorch",
          datasetSize: scenario.datasetSize,
          name: python.name,
          scenario: label,
          run: () => passingCheck(python, scenario),
          baseline: async () => (await loop.run(scenario)).seconds * 1000,
          baselineReportsMs: true,
        });
    }
    const measured = await measureCases(runners, {
      repetitions,
      ...(options.targetRepetitionMs === undefined
        ? {}
        : { targetRepetitionMs: options.targetRepetitionMs }),
      ...(options.warmupMs === undefined ? {} : { warmupMs: options.warmupMs }),
    });
    const rows = measured.map((row, k): BareLoopRow => {
      const runner = runners[k] as (typeof runners)[number];
      return {
        side: runner.side,
        trainer: row.name,
        datasetSize: runner.datasetSize,
        fullCheckMs: row.medianMs,
        bareLoopMs: row.baselineMedianMs ?? Number.NaN,
        ratio: row.overhead ?? Number.NaN,
        repetitions: row.repetitions,
        casesPerRepetition: row.casesPerRepetition,
      };
    });
    return {
      rows,
      model,
      batchSize,
      accumulation,
      workerStartupMs,
      bareScriptStartupMs: bare?.startupMs ?? null,
      torchThreads: bare?.threads ?? null,
    };
  } finally {
    await bare?.dispose();
    await disposePythonWorkers();
  }
}

/** N as the table writes it: 1e3, 1e4, ... for powers of ten, else the number. */
function sizeText(n: number): string {
  const power = Math.log10(n);
  return Number.isInteger(power) && power >= 3 ? `1e${power}` : String(n);
}

/** The caption: what each time includes and leaves out. */
export function bareLoopCaption(figures: BareLoopFigures): string {
  const startup =
    figures.workerStartupMs === null
      ? ""
      : ` Process start, left out of both PyTorch columns: the worker ${(figures.workerStartupMs / 1000).toFixed(2)} s (spawn, imports, handshake), bench/bare_loop.py ${((figures.bareScriptStartupMs ?? Number.NaN) / 1000).toFixed(2)} s (spawn, torch import); both with the worker's environment (torch threads: ${figures.torchThreads ?? "?"}).`;
  return [
    `Full check against a bare training loop: B = ${figures.batchSize}, K = ${figures.accumulation}, one epoch, ${figures.model} model (phi: one parameter per sample${figures.model === "logistic" ? ", plus the logistic body" : ""}), interleaved repetitions, medians.`,
    "full check = runCheck(trainer, scenario): the dataset, training with the recorder (for python:reference: the request to the already running worker, its training and recording, the trace back and decoded), the oracle and the properties; wall time in Node.",
    "bare loop = a plain correct accumulation loop the bench writes, no probe, recorder or trace, same parameter count and windows: tfjs = phi as one variable per micro-batch, tf.variableGrads over the variables the micro-batch reads, summed, divided by the window's samples, tf.train.sgd; its variables built and freed; wall time in Node (dataset arrays made beforehand). pytorch = bench/bare_loop.py: phi as one nn.Parameter of N read as the probe reads it (gather_fingerprint: a dense .grad, each later micro-batch adding only its entries), torch.optim.SGD, a DataLoader over a TensorDataset; timed inside Python from building the tensors, model, optimizer and loader to the end of the epoch (the request's transfer left out).",
    `ratio = median over repetitions of full check / bare loop; target (issue 12): at most ${BARE_LOOP_TARGET}x at N >= 1e${Math.log10(BARE_LOOP_TARGET_FROM)}, a figure, not an assertion.${startup}`,
  ].join("\n");
}

/** The rows as a markdown table, the target next to each ratio. */
export function formatBareLoopTable(rows: readonly BareLoopRow[]): string {
  const lines = [
    "| side | trainer | N | full check ms | bare loop ms | ratio (x) | target | reps x cases |",
    "| --- | --- | ---: | ---: | ---: | ---: | --- | ---: |",
  ];
  for (const row of rows) {
    const target =
      row.datasetSize >= BARE_LOOP_TARGET_FROM
        ? `<= ${BARE_LOOP_TARGET}x (${row.ratio <= BARE_LOOP_TARGET ? "met" : "not met"})`
        : "-";
    lines.push(
      `| ${row.side} | ${row.trainer} | ${sizeText(row.datasetSize)} | ${row.fullCheckMs.toFixed(1)} | ${row.bareLoopMs.toFixed(1)} | ${row.ratio.toFixed(2)} | ${target} | ${row.repetitions} x ${row.casesPerRepetition} |`,
    );
  }
  return lines.join("\n");
}

/**
 * Measures the bare-loop table and prints its caption and rows. When the PyTorch side cannot run
 * (no torch for the interpreter, the worker failing), prints why and the tfjs rows alone.
 */
export async function reportBareLoops(
  options: BareLoopOptions = {},
  log: (line: string) => void = console.log,
): Promise<void> {
  let figures: BareLoopFigures;
  try {
    figures = await measureBareLoops(options);
  } catch (error) {
    if (error instanceof RangeError || (options.sides ?? []).join() === "tfjs") throw error;
    log(`\n(PyTorch side not measured: ${String(error).split("\n")[0]})`);
    figures = await measureBareLoops({ ...options, sides: ["tfjs"] });
  }
  log(`\n${bareLoopCaption(figures)}\n`);
  log(formatBareLoopTable(figures.rows));
}
