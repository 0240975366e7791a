/**
 * The precision a PyTorch trainer really ran, seen by the probe model without the trainer saying
 * it: users' functions (trainers/python/tests/precision_trainers.py) and the framework adapters,
 * none of which tells the probe. What ran sets the tolerance and the words "asked X, ran Y".
 */
import { delimiter, join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { TOLERANCES } from "../properties/tolerance.js";
import { checkJson } from "../reports/json.js";
import { formatCheck } from "../reports/text.js";
import { disposePythonWorkers } from "../trainers/external/index.js";
import { judgePython } from "./support/python-checks.js";

// The users' trainers are importable as precision_trainers:FUNCTION, as a user's module would be.
const trainers = join(import.meta.dirname, "..", "trainers", "python", "tests");
process.env.PYTHONPATH = [trainers, process.env.PYTHONPATH].filter(Boolean).join(delimiter);

afterAll(async () => {
  await disposePythonWorkers();
});

const SCENARIO = {
  datasetSize: 20,
  batchSize: 4,
  accumulation: 2,
  epochs: 2,
  model: "logistic",
} as const;

describe("the precision a PyTorch trainer ran, as the probe saw it", () => {
  it("a user's trainer under bf16 autocast in an fp32 scenario ran bf16, and the text says so", async () => {
    const check = await judgePython("python:precision_trainers:autocast_bf16", {
      ...SCENARIO,
      precision: "fp32",
    });
    expect(check.trainerInfo?.precision).toBe("bf16");
    expect(check.properties.weighting.tolerance).toBe(TOLERANCES.bf16.weight);
    expect(check.verdict).toBe("pass");
    expect(formatCheck(check).split("\n")[0]).toMatch(
      /^PASS {2}python:precision_trainers:autocast_bf16 \(pytorch [^,]+, asked fp32, ran bf16\) {2}N 20 /,
    );
  });

  it("a user's trainer asked fp16 that ignores autocast ran fp32, checked at fp32's tolerance", async () => {
    const check = await judgePython("python:precision_trainers:ignores_autocast", {
      ...SCENARIO,
      precision: "fp16",
    });
    expect(check.trainerInfo?.precision).toBe("fp32");
    expect(check.properties.weighting.tolerance).toBe(TOLERANCES.fp32.weight);
    expect(check.properties.weighting.bodyTolerance).toBe(TOLERANCES.fp32.body);
    expect(check.verdict).toBe("pass");
    expect(formatCheck(check).split("\n")[0]).toContain("asked fp16, ran fp32");
    expect(checkJson(check)).toMatchObject({
      scenario: { precision: "fp16" },
      trainerInfo: { precision: "fp32" },
    });
  });

  it("forward passes in fp32 and bf16: the lowest ran, and both are named", async () => {
    const check = await judgePython("python:precision_trainers:bf16_after_first_epoch", {
      ...SCENARIO,
      precision: "fp32",
    });
    expect(check.trainerInfo).toMatchObject({
      precision: "bf16",
      forwardPrecisions: ["bf16", "fp32"],
    });
    expect(formatCheck(check).split("\n")[0]).toContain("asked fp32, ran bf16 and fp32");
  });

  it.each([
    ["python:accelerate", "fp16", "fp32"],
    ["python:hf-trainer", "fp16", "fp32"],
    ["python:lightning", "fp16", "bf16"],
  ] as const)(
    "%s asked %s on CPU ran %s, which no adapter had to say",
    async (name, asked, ran) => {
      const check = await judgePython(name, {
        ...SCENARIO,
        datasetSize: 12,
        epochs: 1,
        precision: asked,
      });
      expect(check.trainerInfo?.precision).toBe(ran);
      expect(check.trainerInfo?.forwardPrecisions).toBeUndefined();
      expect(check.properties.weighting.tolerance).toBe(TOLERANCES[ran].weight);
      expect(formatCheck(check).split("\n")[0]).toContain(`asked ${asked}, ran ${ran})`);
    },
  );
});
