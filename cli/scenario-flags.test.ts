import { describe, expect, it } from "vitest";
import { parseScenario } from "../trainers/contract/scenario.js";
import { replayCommand, shellWord } from "./replay.js";
import {
  pinFlags,
  pinsFromFlags,
  scenarioFlags,
  scenarioFromFlags,
  scenarioHelp,
  scenarioUsage,
} from "./scenario-flags.js";

describe("scenario flags", () => {
  it("turn a scenario into check flags, leaving out what is at its default, and back", () => {
    const s = parseScenario({
      datasetSize: 110,
      batchSize: 8,
      accumulation: 4,
      epochs: 2,
      dropLast: true,
      shuffle: 3,
    });
    const flags = scenarioFlags(s);
    expect(flags.join(" ")).toBe(
      "--dataset-size 110 --batch-size 8 --accumulation 4 --epochs 2 --drop-last --shuffle 3",
    );
    const values: Record<string, string | boolean> = {};
    for (let k = 0; k < flags.length; k++) {
      const name = (flags[k] ?? "").slice(2);
      const next = flags[k + 1];
      if (next === undefined || next.startsWith("--")) values[name] = true;
      else [values[name], k] = [next, k + 1];
    }
    expect(scenarioFromFlags(values)).toEqual(s);
  });

  it.each([
    [{ "batch-size": "8", accumulation: "4" }, "--dataset-size: required"],
    [
      { "dataset-size": "0x10", "batch-size": "8", accumulation: "4" },
      '--dataset-size: expected a whole number, saw "0x10"',
    ],
    [
      { "dataset-size": "10", "batch-size": "8", accumulation: "4", "learning-rate": "fast" },
      '--learning-rate: expected a number, saw "fast"',
    ],
    [
      { "dataset-size": "10", "batch-size": "8", accumulation: "4", "learning-rate": "0" },
      "--learning-rate: expected a number above 0, saw 0",
    ],
    [
      { "dataset-size": "100000", "batch-size": "8", accumulation: "4", epochs: "100" },
      "--dataset-size: expected datasetSize x epochs at most 2000000",
    ],
  ])("%j is one line naming the flag", (values, message) => {
    expect(() => scenarioFromFlags(values)).toThrow(message);
  });

  it("read --shuffle false as no shuffle, as check and as a pin, and write the pin back", () => {
    const base = { "dataset-size": "4", "batch-size": "2", accumulation: "2" };
    expect(scenarioFromFlags({ ...base, shuffle: "false" }).shuffle).toBe(false);
    const pins = pinsFromFlags({ shuffle: "false" });
    expect(pins).toEqual({ shuffle: false });
    expect(pinFlags(pins)).toEqual(["--shuffle", "false"]);
  });

  it.each([
    [
      "dataset-size",
      "9007199254740993",
      "--dataset-size: expected a whole number from 1 to 1000000",
    ],
    ["shuffle", "-1", "--shuffle: expected false or a whole number from 0 to 4294967295"],
    ["lengths", "3,100000000", "--lengths: expected whole numbers from 0 to 64"],
  ])("--%s %s says the values it takes and echoes the value given", (flag, value, message) => {
    const values = { "dataset-size": "4", "batch-size": "2", accumulation: "2", [flag]: value };
    const tokens = flag === "lengths" ? { weighting: "tokens" } : {};
    expect(() => scenarioFromFlags({ ...values, ...tokens })).toThrow(
      `${message}, saw ${value.split(",").at(-1)}`,
    );
    expect(() => pinsFromFlags({ [flag]: value, ...tokens })).toThrow(
      `${message}, saw ${value.split(",").at(-1)}`,
    );
  });

  it("read loss-token counts as a list or a range, and write them back", () => {
    const base = { "dataset-size": "4", "batch-size": "2", accumulation: "2", weighting: "tokens" };
    const listed = scenarioFromFlags({ ...base, lengths: "3,1,0" });
    expect(listed.lengths).toEqual([3, 1, 0]);
    expect(scenarioFlags(listed).join(" ")).toBe(
      "--dataset-size 4 --batch-size 2 --accumulation 2 --weighting tokens --lengths 3,1,0",
    );
    expect(scenarioFromFlags({ ...base, lengths: "2-5" }).lengths).toBe("2-5");
    expect(() => scenarioFromFlags({ ...base, lengths: "3;1" })).toThrow(
      '--lengths: expected whole numbers joined by commas (3,1,2) or a range (1-8), saw "3;1"',
    );
    expect(() => scenarioFromFlags({ ...base, weighting: "samples", lengths: "3" })).toThrow(
      "--lengths: loss-token counts apply to token weighting only",
    );
  });

  it("read a run that draws with replacement, and refuse epochs beside it in one line", () => {
    const base = { "dataset-size": "50", "batch-size": "4", accumulation: "3" };
    const s = scenarioFromFlags({ ...base, sampling: "replacement", steps: "5" });
    expect(s).toMatchObject({ sampling: "replacement", steps: 5, epochs: 1 });
    expect(scenarioFlags(s).join(" ")).toBe(
      "--dataset-size 50 --batch-size 4 --accumulation 3 --sampling replacement --steps 5",
    );
    expect(() =>
      scenarioFromFlags({ ...base, sampling: "replacement", steps: "5", epochs: "2" }),
    ).toThrow(/^--epochs: expected 1 under replacement sampling .*, saw 2$/);
    expect(() => scenarioFromFlags({ ...base, sampling: "replacement" })).toThrow(
      "--steps: expected the optimizer steps the run takes under replacement sampling, saw none",
    );
    expect(() => scenarioFromFlags({ ...base, steps: "5" })).toThrow(
      "--steps: expected none under epoch sampling",
    );
  });

  it("accepts an exponent for a real number", () => {
    expect(
      scenarioFromFlags({
        "dataset-size": "4",
        "batch-size": "2",
        accumulation: "2",
        "learning-rate": "1e-3",
      }).learningRate,
    ).toBe(0.001);
  });

  it("make the usage text and help from the schema", () => {
    expect(scenarioUsage().join(" ")).toBe(
      "--dataset-size N --batch-size B --accumulation K [--world-size W] [--epochs E] [--sampling epochs|replacement] [--steps S] [--drop-last] [--shuffle SEED] [--precision fp32|fp16|bf16] [--model fingerprint|logistic|mlp|causal-lm] [--data-seed S] [--weighting samples|tokens] [--lengths LENGTHS] [--learning-rate LR] [--clip-norm C] [--schedule constant|linear|cosine|step] [--warmup-steps STEPS] [--ema DECAY] [--optimizer sgd|adamw] [--overflow-step WINDOW]",
    );
    expect(scenarioHelp()).toMatch(
      /^ {2}--dataset-size N +number of labelled samples \(required\)$/m,
    );
    expect(scenarioHelp()).toMatch(/^ {2}--epochs E +passes over the dataset \(default 1\)$/m);
    expect(scenarioHelp()).toMatch(/^ {2}--shuffle SEED +shuffle the samples .* \(default off\)$/m);
  });

  it("quote what a shell would split in a replay command", () => {
    expect(shellWord("python:my_module:train")).toBe("python:my_module:train");
    expect(shellWord("/opt/my env/bin/python")).toBe("'/opt/my env/bin/python'");
    expect(shellWord("it's")).toBe(`'it'\\''s'`);
    const replay = replayCommand({ python: "/opt/my env/python" });
    expect(
      replay("python:reference", parseScenario({ datasetSize: 3, batchSize: 2, accumulation: 2 })),
    ).toBe(
      "accumaudit check --trainer python:reference --dataset-size 3 --batch-size 2 --accumulation 2 --python '/opt/my env/python'",
    );
  });
});
