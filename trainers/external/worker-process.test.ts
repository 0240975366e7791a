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

describe("a worker started ahead of its first request", () => {
  const sleeper = (tag: string): WorkerCommand => ({
    command: process.execPath,
    args: ["-e", `console.log(${JSON.stringify(tag)}, process.pid); setInterval(() => {}, 1000)`],
  });

  it("is the one the first take of its command gets; the next take starts another", async () => {
    const command = sleeper("early");
    WorkerProcess.prestart(command);
    WorkerProcess.prestart(command); // a second prestart of the same command starts nothing more
    const first = WorkerProcess.take(command);
    const second = WorkerProcess.take(command);
    try {
      const [line1, line2] = await Promise.all([
        first.nextLine(10_000, "first line"),
        second.nextLine(10_000, "first line"),
      ]);
      expect(line1).toBe(`early ${first.pid}`);
      expect(line2).toBe(`early ${second.pid}`);
      expect(second.pid).not.toBe(first.pid);
    } finally {
      first.kill();
      second.kill();
    }
  });

  it("is not handed out once dead: take starts a fresh one", async () => {
    const command = { command: process.execPath, args: ["-e", "process.exit(3)"] };
    const early = WorkerProcess.prestart(command);
    await expect(early.nextLine(10_000, "a line")).rejects.toThrow(/exited with code 3/);
    const fresh = WorkerProcess.take(command);
    try {
      expect(fresh).not.toBe(early);
      expect(early.dead).toBe(true);
      expect(fresh.pid).not.toBe(early.pid);
    } finally {
      fresh.kill();
    }
  });
});
