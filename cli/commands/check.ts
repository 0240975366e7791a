import { parseArgs } from "node:util";
import { runCheck } from "../../properties/run-check.js";
import { renderCheckReport, writeReport } from "../../reports/html/index.js";
import { formatCheck } from "../../reports/text.js";
import {
  MODELS,
  PRECISIONS,
  parseScenario,
  ScenarioError,
} from "../../trainers/contract/scenario.js";
import { resolveTrainer } from "../../trainers/registry.js";
import {
  choiceFlag,
  type FlagValues,
  integerFlag,
  joinNegativeValues,
  numberFlag,
  RUN_FLAGS,
} from "../options.js";
import { assertReportWritable } from "../report-path.js";
import { runContextFromFlags } from "../run-context.js";
import { UsageError, withFlagNames } from "../usage-error.js";
import { harnessVersion } from "../version.js";

const CHECK_FLAGS = {
  ...RUN_FLAGS,
  trainer: { type: "string" },
  "dataset-size": { type: "string" },
  "batch-size": { type: "string" },
  accumulation: { type: "string" },
  "drop-last": { type: "boolean" },
  epochs: { type: "string" },
  shuffle: { type: "string" },
  precision: { type: "string" },
  model: { type: "string" },
  "data-seed": { type: "string" },
  "learning-rate": { type: "string" },
} as const;

export const CHECK_USAGE = `accumaudit check --trainer NAME --dataset-size N --batch-size B --accumulation K
  [--drop-last] [--epochs E] [--shuffle SEED] [--precision fp32|fp16|bf16]
  [--model fingerprint|logistic|mlp] [--data-seed S] [--learning-rate LR]
  [--backend cpu|wasm|webgpu|tensorflow] [--python PATH] [--device cpu|cuda] [--timeout SECONDS]
  [--json] [--report FILE]`;

function required(values: FlagValues, name: string): number {
  const value = numberFlag(values, name);
  if (value === undefined) throw new UsageError(`--${name}: required`);
  return value;
}

function scenarioFromFlags(values: FlagValues) {
  try {
    return parseScenario({
      datasetSize: required(values, "dataset-size"),
      batchSize: required(values, "batch-size"),
      accumulation: required(values, "accumulation"),
      dropLast: values["drop-last"] === true,
      shuffle: integerFlag(values, "shuffle", 0, 0xffffffff) ?? false,
      epochs: numberFlag(values, "epochs") ?? 1,
      precision: choiceFlag(values, "precision", PRECISIONS) ?? "fp32",
      model: choiceFlag(values, "model", MODELS) ?? "fingerprint",
      dataSeed: integerFlag(values, "data-seed", 0, 0xffffffff) ?? 0,
      learningRate: numberFlag(values, "learning-rate") ?? 0.1,
    });
  } catch (error) {
    if (error instanceof ScenarioError) throw new UsageError(withFlagNames(error.message));
    throw error;
  }
}

/** `accumaudit check`: one trainer on one scenario. Returns the exit code. */
export async function checkCommand(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args: joinNegativeValues(args),
    options: CHECK_FLAGS,
    strict: true,
    allowPositionals: false,
  });
  if (values.help) {
    process.stdout.write(`${CHECK_USAGE}\n`);
    return 0;
  }
  if (!values.trainer) throw new UsageError("--trainer: required (see `accumaudit list`)");
  const scenario = scenarioFromFlags(values);
  if (values.report) await assertReportWritable(values.report);
  const context = runContextFromFlags(values);
  const trainer = resolveTrainer(values.trainer, context.external);
  try {
    const diagnosis = await runCheck(trainer, scenario, context.runOptions);
    const result = diagnosis.result;
    process.stdout.write(
      values.json ? `${JSON.stringify(result, null, 2)}\n` : `${formatCheck(result)}\n`,
    );
    if (values.report) {
      const html = await renderCheckReport({
        diagnosis,
        meta: {
          harnessVersion: harnessVersion(),
          date: new Date().toISOString(),
          backend: context.runOptions.backend ?? "cpu",
          ...(context.runOptions.device ? { device: context.runOptions.device } : {}),
          precision: scenario.precision,
          command: ["accumaudit", "check", ...args].join(" "),
        },
      });
      const bytes = await writeReport(values.report, html);
      process.stderr.write(`report: ${values.report} (${bytes} bytes)\n`);
    }
    return result.verdict === "pass" ? 0 : result.verdict === "fail" ? 1 : 2;
  } finally {
    await trainer.dispose?.();
  }
}
