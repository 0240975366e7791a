import { afterEach, beforeEach, describe, expect, it } from "vitest";
import {
  THREAD_VARIABLES,
  type WorkerCommand,
  WorkerProcess,
  workerEnvironment,
} from "./worker-process.js";

const command: WorkerCommand = { command: "python3", args: [] };

describe("worker environment", () => {
  it("gives a worker one math-library thread when the user set none", () => {
    const env = workerEnvironment(command, { PATH: "/bin", OMP_NUM_THREADS: "" });
    expect(env.OMP_NUM_THREADS).toBe("1");
    expect(env.MKL_NUM_THREADS).toBe("1");
    expect(env.PATH).toBe("/bin");
  });

  it("keeps the user's thread setting, and adds none beside it", () => {
    expect(workerEnvironment(command, { OMP_NUM_THREADS: "4" })).toEqual({ OMP_NUM_THREADS: "4" });
    expect(workerEnvironment(command, { MKL_NUM_THREADS: "3" })).toEqual({ MKL_NUM_THREADS: "3" });
  });

  it("keeps a thread setting of the command's own environment", () => {
    const own = { ...command, env: { OMP_NUM_THREADS: "2" } };
    expect(workerEnvironment(own, {})).toEqual({ OMP_NUM_THREADS: "2" });
  });
});

describe("a started worker", () => {
  const saved = Object.fromEntries(THREAD_VARIABLES.map((name) => [name, process.env[name]]));
  beforeEach(() => {
    for (const name of THREAD_VARIABLES) delete process.env[name];
  });
  afterEach(() => {
    for (const name of THREAD_VARIABLES) {
      const value = saved[name];
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
  });

  /** The thread variables as the started process sees them, one JSON line. */
  async function threadsSeen(): Promise<Record<string, string | null>> {
    const script = `console.log(JSON.stringify(Object.fromEntries(${JSON.stringify(THREAD_VARIABLES)}.map((n) => [n, process.env[n] ?? null]))))`;
    const worker = new WorkerProcess({ command: process.execPath, args: ["-e", script] });
    try {
      return JSON.parse(await worker.nextLine(10_000, "environment line")) as Record<
        string,
        string | null
      >;
    } finally {
      worker.kill();
    }
  }

  it("carries one thread by default", async () => {
    expect(await threadsSeen()).toEqual({ OMP_NUM_THREADS: "1", MKL_NUM_THREADS: "1" });
  });

  it("carries the user's OMP_NUM_THREADS unchanged", async () => {
    process.env.OMP_NUM_THREADS = "3";
    expect(await threadsSeen()).toEqual({ OMP_NUM_THREADS: "3", MKL_NUM_THREADS: null });
  });
});
