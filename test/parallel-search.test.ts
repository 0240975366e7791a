import { execFileSync } from "node:child_process";
import { afterAll, afterEach, describe, expect, it } from "vitest";
import { type AuditOptions, auditTrainer } from "../properties/audit.js";
import type { TrainerAuditOutcome } from "../properties/outcome.js";
import {
  createPythonTrainer,
  disposePythonWorkers,
  pythonWorkerPoolSize,
  setPythonWorkerPoolSize,
} from "../trainers/external/python-trainer.js";
import {
  createTfjsTrainers,
  disposeTfjsThreads,
  liveTfjsThreads,
  setTfjsThreadPoolSize,
} from "../trainers/tfjs/index.js";
import { childrenOf } from "./support/processes.js";

afterEach(async () => {
  setPythonWorkerPoolSize(1);
  setTfjsThreadPoolSize(1);
  await disposeTfjsThreads();
});

/** This process's Python workers. */
function pythonWorkers(): number[] {
  return childrenOf(process.pid).filter((pid) => {
    try {
      return execFileSync("ps", ["-o", "args=", "-p", String(pid)], { encoding: "utf8" }).includes(
        "accumaudit_probe.worker",
      );
    } catch {
      return false;
    }
  });
}
afterAll(async () => {
  await disposePythonWorkers();
});

/** What an audit found, without timings. */
function found(audit: TrainerAuditOutcome) {
  const { search } = audit;
  if (search.kind === "refuted") {
    const { check, ...where } = search.counterexample;
    return { kind: search.kind, casesRun: search.casesRun, ...where, scenario: check.scenario };
  }
  return { kind: search.kind, casesRun: search.casesRun };
}

const options = (jobs: number): AuditOptions => ({
  runs: 30,
  seed: 7,
  jobs,
  space: { maxDatasetSize: 40, maxWorldSize: 1 },
});

describe("a search with several jobs", () => {
  it("finds and shrinks the counterexample a one-job search finds, on two Python workers at once", async () => {
    const trainer = createPythonTrainer("python:docs-loop", { timeoutMs: 120_000 });
    const cases: number[] = [];
    const one = await auditTrainer(trainer, options(1));
    setPythonWorkerPoolSize(2);
    expect(pythonWorkerPoolSize()).toBe(2);
    const two = await auditTrainer(trainer, {
      ...options(2),
      onProgress: (p) => {
        if (p.phase === "search" && p.state === "started") cases.push(p.cases);
      },
    });
    expect(one.search.kind).toBe("refuted");
    expect(found(two)).toEqual(found(one));
    expect(pythonWorkers().length).toBe(2);
    expect(cases.length).toBeGreaterThan(0);
  }, 240_000);

  it("passes as a one-job search passes", async () => {
    setPythonWorkerPoolSize(2);
    const trainer = createPythonTrainer("python:reference", { timeoutMs: 120_000 });
    const audit = await auditTrainer(trainer, { ...options(2), runs: 12 });
    expect(audit.search).toEqual({ kind: "passed", casesRun: 12 });
  }, 240_000);

  it.each(["docs-loop", "reference"])(
    "finds for %s on two TensorFlow.js threads what one job in the main thread finds",
    async (name) => {
      const trainer = createTfjsTrainers().find((t) => t.name === name);
      if (!trainer) throw new Error(`expected the ${name} trainer`);
      const one = await auditTrainer(trainer, options(1));
      expect(liveTfjsThreads()).toBe(0);
      setTfjsThreadPoolSize(2);
      expect(trainer.concurrency?.()).toBe(2);
      let running = 0;
      let most = 0;
      const two = await auditTrainer(trainer, {
        ...options(2),
        onProgress: (p) => {
          if (p.phase !== "search") return;
          running += p.state === "started" ? 1 : -1;
          most = Math.max(most, running);
        },
      });
      expect(one.search.kind).toBe(name === "reference" ? "passed" : "refuted");
      expect(found(two)).toEqual(found(one));
      expect(most).toBe(2);
      expect(liveTfjsThreads()).toBe(2);
      await trainer.dispose?.();
      expect(liveTfjsThreads()).toBe(0);
    },
  );

  it("runs an in-process trainer one case at a time, with the one-job outcome", async () => {
    const trainer = createTfjsTrainers().find((t) => t.name === "two-loop");
    if (!trainer) throw new Error("expected the two-loop trainer");
    expect(trainer.concurrency?.() ?? 1).toBe(1);
    let running = 0;
    let most = 0;
    const watched = {
      ...trainer,
      run: async (...args: Parameters<typeof trainer.run>) => {
        most = Math.max(most, ++running);
        try {
          return await trainer.run(...args);
        } finally {
          running--;
        }
      },
    };
    const four = await auditTrainer(watched, options(4));
    expect(most).toBe(1);
    expect(found(four)).toEqual(found(await auditTrainer(trainer, options(1))));
  });
});
