import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { initialBodyParameters, makeDataset } from "../trainers/contract/probe.js";
import type { Scenario } from "../trainers/contract/scenario.js";
import { locatePython, packageRoot } from "../trainers/external/interpreter.js";
import { WorkerProcess } from "../trainers/external/worker-process.js";
import { checkBareScenario } from "./bare-tfjs.js";

/** How long the bare script may take to import torch, and one run to train. */
const START_TIMEOUT_MS = 120_000;
const RUN_TIMEOUT_MS = 600_000;

/** One bare PyTorch run as the script timed it. */
export interface BarePythonRun {
  /** Seconds inside Python: data tensors, model, optimizer, DataLoader, training. */
  seconds: number;
  /** sum(phi) after training: -learningRate x windows x epochs for a correct loop. */
  fingerprintSum: number;
}

/**
 * bench/bare_loop.py, kept running between runs: a plain PyTorch accumulation loop (SGD, a
 * DataLoader, no accumaudit probe, recorder or trace) that times itself. It is started as a
 * {@link WorkerProcess}, so it gets the same environment as the Python worker, thread settings
 * included.
 */
export class BarePythonLoop {
  private constructor(
    private readonly process: WorkerProcess,
    /** Milliseconds from spawning the script to its ready line (interpreter, torch import). */
    readonly startupMs: number,
    /** Intra-op threads torch reported at start. */
    readonly threads: number,
  ) {}

  /**
   * Starts the script with the worker's interpreter (`python` as `--python` takes it) and waits
   * until it is ready.
   */
  static async start(python?: string): Promise<BarePythonLoop> {
    const started = performance.now();
    const process = new WorkerProcess({
      command: locatePython(python),
      args: [join(packageRoot(), "bench", "bare_loop.py")],
      env: { PYTHONUNBUFFERED: "1" },
    });
    try {
      const ready = JSON.parse(await process.nextLine(START_TIMEOUT_MS, "ready line")) as {
        threads?: number;
      };
      return new BarePythonLoop(process, performance.now() - started, ready.threads ?? Number.NaN);
    } catch (error) {
      process.kill();
      throw error;
    }
  }

  /** Trains the scenario once on its dataset (fingerprint or logistic model, no shuffle, fp32). */
  async run(scenario: Scenario): Promise<BarePythonRun> {
    checkBareScenario(scenario);
    const dataset = makeDataset(scenario);
    this.process.send({
      type: "run",
      datasetSize: scenario.datasetSize,
      batchSize: scenario.batchSize,
      accumulation: scenario.accumulation,
      epochs: scenario.epochs,
      model: scenario.model,
      learningRate: scenario.learningRate,
      features: dataset.features,
      labels: dataset.labels,
      body: initialBodyParameters(scenario),
    });
    const line = await this.process.nextLine(RUN_TIMEOUT_MS, "bare loop result");
    return JSON.parse(line) as BarePythonRun;
  }

  /** Asks the script to exit. */
  dispose(): Promise<void> {
    return this.process.shutdown();
  }
}
