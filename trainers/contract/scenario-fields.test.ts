import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { SCENARIO_FIELDS, scenarioField, scenarioJsonSchema } from "./scenario-fields.js";

describe("scenario fields", () => {
  it("are read off the schema: flag, symbol, kind, default", () => {
    expect(SCENARIO_FIELDS.map((f) => f.key)).toEqual([
      "datasetSize",
      "batchSize",
      "accumulation",
      "worldSize",
      "epochs",
      "sampling",
      "steps",
      "dropLast",
      "shuffle",
      "precision",
      "model",
      "dataSeed",
      "weighting",
      "lengths",
      "learningRate",
      "clipNorm",
      "schedule",
      "warmupSteps",
      "ema",
      "optimizer",
      "overflowStep",
    ]);
    expect(scenarioField("datasetSize")).toMatchObject({
      flag: "--dataset-size",
      symbol: "N",
      kind: "integer",
      optional: false,
    });
    expect(scenarioField("dropLast")).toMatchObject({ kind: "switch", default: false });
    expect(scenarioField("shuffle")).toMatchObject({ kind: "integer", default: false });
    expect(scenarioField("precision")).toMatchObject({
      kind: "choice",
      choices: ["fp32", "fp16", "bf16"],
      default: "fp32",
    });
    expect(scenarioField("learningRate")).toMatchObject({ kind: "number", default: 0.1 });
    expect(scenarioField("weighting")).toMatchObject({ kind: "choice", default: "samples" });
    expect(scenarioField("lengths")).toMatchObject({ kind: "counts", optional: true });
    expect(scenarioField("lengths").default).toBeUndefined();
    expect(scenarioField("sampling")).toMatchObject({
      flag: "--sampling",
      kind: "choice",
      choices: ["epochs", "replacement"],
      default: "epochs",
    });
    expect(scenarioField("steps")).toMatchObject({
      flag: "--steps",
      symbol: "S",
      kind: "integer",
      optional: true,
    });
    expect(scenarioField("steps").default).toBeUndefined();
  });

  it("the Python worker's JSON Schema is the one the schema exports (run `npm run schema` when not)", () => {
    const shipped = JSON.parse(
      readFileSync(
        new URL("../python/accumaudit_probe/scenario.schema.json", import.meta.url),
        "utf8",
      ),
    );
    expect(shipped).toEqual(scenarioJsonSchema());
    // Every field but those without a default, which a scenario may leave out: the loss-token
    // counts and the steps (token weighting, replacement sampling only), and the step semantics
    // that are off unless set (clipping, an average, an overflow).
    const optional = ["lengths", "steps", "clipNorm", "ema", "overflowStep"];
    expect(shipped.required).toEqual(
      SCENARIO_FIELDS.filter((f) => !optional.includes(f.key)).map((f) => f.key),
    );
    expect(shipped.additionalProperties).toBe(false);
  });
});
