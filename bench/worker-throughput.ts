import { performance } from "node:perf_hooks";
import { initialBodyParameters, makeDataset } from "../trainers/contract/probe.js";
import { parseScenario, type ScenarioInput } from "../trainers/contract/scenario.js";
import { pythonWorkerCommand } from "../trainers/external/interpreter.js";
import { decodeWireTrace } from "../trainers/external/wire-trace.js";
import { WorkerClient } from "../trainers/external/worker-client.js";

/** What {@link measureWorkerThroughput} runs. */
export interface ThroughputOptions {
  /** Worker-side trainer name (default `reference`). */
  trainer?: string;
  /** Cases per mode (default 20); case i uses dataSeed i. */
  cases?: number;
  /** Scenario of every case (default 110 samples, micro-batch 8, K 4, 2 epochs, logistic). */
  scenario?: ScenarioInput;
  python?: string;
  device?: "cpu" | "cuda";
}

/** Cases per second of one mode. */
export interface ModeFigures {
  seconds: number;
  casesPerSecond: number;
}

/** Throughput of the long-lived worker against a process started per case. */
export interface ThroughputFigures {
  trainer: string;
  cases: number;
  /** One worker for all cases, its start included. */
  longLived: ModeFigures;
  /** A new worker process per case (start, handshake, run, shutdown). */
  processPerCase: ModeFigures;
  /** longLived.casesPerSecond / processPerCase.casesPerSecond. */
  speedup: number;
}

async function runCases(
  options: Required<Pick<ThroughputOptions, "trainer" | "cases">> & ThroughputOptions,
  clientForCase: (i: number) => WorkerClient,
  afterCase: (client: WorkerClient) => Promise<void>,
): Promise<ModeFigures> {
  const started = performance.now();
  for (let i = 0; i < options.cases; i++) {
    const scenario = parseScenario({
      datasetSize: 110,
      batchSize: 8,
      accumulation: 4,
      epochs: 2,
      model: "logistic",
      ...options.scenario,
      dataSeed: i,
    });
    const client = clientForCase(i);
    const raw = await client.run(
      {
        trainer: options.trainer,
        scenario,
        dataset: makeDataset(scenario),
        initialParameters: initialBodyParameters(scenario),
        device: options.device ?? "cpu",
        record: true,
      },
      600_000,
    );
    decodeWireTrace(raw);
    await afterCase(client);
  }
  const seconds = (performance.now() - started) / 1000;
  return { seconds, casesPerSecond: options.cases / seconds };
}

/**
 * Measures audited cases per second through one long-lived Python worker and through a fresh
 * worker process per case, on the same scenarios (for the bench).
 */
export async function measureWorkerThroughput(
  options: ThroughputOptions = {},
): Promise<ThroughputFigures> {
  const settings = {
    ...options,
    trainer: options.trainer ?? "reference",
    cases: options.cases ?? 20,
  };
  const command = pythonWorkerCommand(options.python);
  const shared = new WorkerClient(command);
  const longLived = await runCases(
    settings,
    () => shared,
    async () => {},
  );
  await shared.dispose();
  const processPerCase = await runCases(
    settings,
    () => new WorkerClient(command),
    (client) => client.dispose(),
  );
  return {
    trainer: settings.trainer,
    cases: settings.cases,
    longLived,
    processPerCase,
    speedup: longLived.casesPerSecond / processPerCase.casesPerSecond,
  };
}
