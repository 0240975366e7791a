import { spawnSync } from "node:child_process";
import { afterEach, describe, expect, it } from "vitest";
import { runCheck } from "../../properties/run-check.js";
import type { Dataset } from "../contract/probe.js";
import { makeDataset } from "../contract/probe.js";
import { parseScenario } from "../contract/scenario.js";
import { type Trainer, TrainerError } from "../contract/trainer.js";
import { createTfjsTrainers } from "./index.js";
import {
  disposeTfjsThreads,
  liveTfjsThreads,
  runInThread,
  setTfjsThreadPoolSize,
  tfjsThreadsInUse,
} from "./thread-pool.js";

afterEach(async () => {
  setTfjsThreadPoolSize(1);
  await disposeTfjsThreads();
});

const scenario = parseScenario({
  datasetSize: 45,
  batchSize: 4,
  accumulation: 3,
  epochs: 2,
  model: "mlp",
});

function builtIn(name: string): Trainer {
  const trainer = createTfjsTrainers().find((t) => t.name === name);
  if (!trainer) throw new Error(`expected the built-in trainer ${name}`);
  return trainer;
}

/** What a run threw, or undefined. */
async function thrown(run: Promise<unknown>): Promise<unknown> {
  return run.then(
    () => undefined,
    (error: unknown) => error,
  );
}

describe("the TensorFlow.js thread pool", () => {
  it("runs in the main thread with a pool of 1: no thread, concurrency 1", async () => {
    const trainer = builtIn("reference");
    expect(tfjsThreadsInUse()).toBe(false);
    expect(trainer.concurrency?.()).toBe(1);
    await trainer.run(scenario, makeDataset(scenario));
    expect(liveTfjsThreads()).toBe(0);
  });

  it("runs concurrent cases on as many threads, with the main thread's traces, and dispose leaves none", async () => {
    const trainer = builtIn("two-loop");
    const dataset = makeDataset(scenario);
    const other = parseScenario({ ...scenario, datasetSize: 30, shuffle: 5 });
    const inMain = [
      await trainer.run(scenario, dataset),
      await trainer.run(other, makeDataset(other)),
    ];
    setTfjsThreadPoolSize(2);
    expect(trainer.concurrency?.()).toBe(2);
    const inThreads = await Promise.all([
      trainer.run(scenario, dataset),
      trainer.run(other, makeDataset(other)),
    ]);
    expect(liveTfjsThreads()).toBe(2);
    expect(inThreads).toEqual(inMain);
    // A third run reuses an idle thread.
    expect(await trainer.run(scenario, dataset)).toEqual(inMain[0]);
    expect(liveTfjsThreads()).toBe(2);
    await trainer.dispose?.();
    expect(liveTfjsThreads()).toBe(0);
  });

  it("turns an exception in a thread into the check error of the main thread", async () => {
    const trainer = builtIn("reference");
    const twoRanks = parseScenario({ ...scenario, worldSize: 2 });
    // A dataset that the scenario does not fit throws inside TensorFlow.js, not a TrainerError.
    const misfit: Dataset = { ...makeDataset(scenario), features: [[1, 2, 3]] };
    const inMain = [await runCheck(trainer, twoRanks), await thrown(trainer.run(scenario, misfit))];
    setTfjsThreadPoolSize(2);
    const inThreads = [
      await runCheck(trainer, twoRanks),
      await thrown(trainer.run(scenario, misfit)),
    ];
    const withoutTime = ({ durationMs: _, ...check }: { durationMs: number }) => check;
    expect(inThreads[0] && withoutTime(inThreads[0] as { durationMs: number })).toEqual(
      inMain[0] && withoutTime(inMain[0] as { durationMs: number }),
    );
    expect(inMain[1]).toBeInstanceOf(Error);
    expect(inThreads[1]).toBeInstanceOf(TrainerError);
    expect((inThreads[1] as Error).message).toBe((inMain[1] as Error).message);
    expect(liveTfjsThreads()).toBe(1);
  });

  it("fails a run whose thread is stopped with one line, and names an unknown trainer", async () => {
    setTfjsThreadPoolSize(2);
    const long = parseScenario({ datasetSize: 5000, batchSize: 1, accumulation: 2, epochs: 3 });
    const running = thrown(runInThread("reference", long, makeDataset(long)));
    while (liveTfjsThreads() === 0) await new Promise((resolve) => setTimeout(resolve, 10));
    await disposeTfjsThreads();
    const error = await running;
    expect(error).toBeInstanceOf(TrainerError);
    expect((error as Error).message).toBe("reference: TensorFlow.js thread stopped during the run");
    expect(liveTfjsThreads()).toBe(0);
    const unknown = await thrown(runInThread("nope", scenario, makeDataset(scenario)));
    expect((unknown as Error).message).toMatch(/^thread: trainer: expected one of docs-loop, /);
  });

  it("lets a process that audits with two threads exit by itself", () => {
    const pool = new URL("./thread-pool.ts", import.meta.url).href;
    const audit = new URL("../../properties/audit.ts", import.meta.url).href;
    const index = new URL("./index.ts", import.meta.url).href;
    const hooks = new URL("./thread-source-hooks.mjs", import.meta.url).href;
    const script = [
      `import { auditTrainer } from ${JSON.stringify(audit)};`,
      `import { createTfjsTrainers } from ${JSON.stringify(index)};`,
      `import { liveTfjsThreads, setTfjsThreadPoolSize } from ${JSON.stringify(pool)};`,
      "setTfjsThreadPoolSize(2);",
      'const trainer = createTfjsTrainers().find((t) => t.name === "reference");',
      "const audit = await auditTrainer(trainer, { runs: 6, seed: 1, jobs: 2, space: { maxDatasetSize: 30 } });",
      "console.log(audit.search.kind, liveTfjsThreads());",
    ].join("\n");
    // The TypeScript source runs with the hooks the threads use; no dispose: idle threads let Node exit.
    const register = `import{register}from"node:module";register(${JSON.stringify(hooks)});`;
    const child = spawnSync(
      process.execPath,
      [
        "--import",
        `data:text/javascript,${encodeURIComponent(register)}`,
        "--input-type=module",
        "-e",
        script,
      ],
      { encoding: "utf8", timeout: 90_000 },
    );
    expect(child.stderr).toBe("");
    expect(child.status).toBe(0);
    expect(child.stdout.trim()).toBe("passed 2");
  });
});
