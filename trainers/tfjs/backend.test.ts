import { createRequire } from "node:module";
import * as tf from "@tensorflow/tfjs-core";
import { describe, expect, it } from "vitest";
import { makeDataset } from "../contract/probe.js";
import { parseScenario } from "../contract/scenario.js";
import { TrainerError } from "../contract/trainer.js";
import { selectBackend } from "./backend.js";
import { referenceTrainer } from "./loops/reference.js";

const resolves = (specifier: string): boolean => {
  try {
    createRequire(import.meta.url).resolve(specifier);
    return true;
  } catch {
    return false;
  }
};

describe("selectBackend", () => {
  it("selects cpu, idempotently", async () => {
    await selectBackend("cpu");
    await selectBackend("cpu");
    expect(tf.getBackend()).toBe("cpu");
  });

  it("runs the reference on wasm with the same weights as on cpu", async () => {
    const scenario = parseScenario({
      datasetSize: 13,
      batchSize: 4,
      accumulation: 2,
      model: "logistic",
    });
    const onWasm = await referenceTrainer.run(scenario, makeDataset(scenario), { backend: "wasm" });
    expect(onWasm.trainer.backend).toBe("wasm");
    const onCpu = await referenceTrainer.run(scenario, makeDataset(scenario), { backend: "cpu" });
    expect(onWasm.steps.map((s) => s.fingerprint)).toEqual(onCpu.steps.map((s) => s.fingerprint));
    onWasm.steps.forEach((step, k) => {
      step.body?.gradient.forEach((g, j) => {
        expect(g as number).toBeCloseTo(onCpu.steps[k]?.body?.gradient[j] as number, 5);
      });
    });
  });

  it("names the package to install when the tensorflow backend is missing", async () => {
    if (resolves("@tensorflow/tfjs-node") || resolves("@tensorflow/tfjs-node-gpu")) {
      await selectBackend("tensorflow");
      expect(tf.getBackend()).toBe("tensorflow");
    } else {
      const failure = selectBackend("tensorflow");
      await expect(failure).rejects.toThrow(TrainerError);
      await expect(failure).rejects.toThrow(/npm install @tensorflow\/tfjs-node/);
    }
    await selectBackend("cpu");
  });

  it("names the packages to install when webgpu is missing", async () => {
    if (resolves("webgpu") && resolves("@tensorflow/tfjs-backend-webgpu")) {
      // With the packages present, the answer depends on a GPU adapter: success or a one-line error.
      await selectBackend("webgpu").then(
        () => expect(tf.getBackend()).toBe("webgpu"),
        (error: Error) => expect(error.message).toMatch(/^backend webgpu: .*\S$/),
      );
    } else {
      await expect(selectBackend("webgpu")).rejects.toThrow(/npm install .*webgpu/);
    }
    await selectBackend("cpu");
  });
});
