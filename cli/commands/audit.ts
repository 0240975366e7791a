import { parseArgs } from "node:util";
import { DEFAULT_SPACE, missionScenarios } from "../../properties/arbitraries.js";
import { auditTrainer } from "../../properties/audit.js";
import type { AuditResult, CheckDiagnosis } from "../../properties/result.js";
import { renderAuditReport, writeReport } from "../../reports/html/index.js";
import { formatAuditHeader, formatAuditSummary, formatTrainerAudit } from "../../reports/text.js";
import { MODELS, PRECISIONS } from "../../trainers/contract/scenario.js";
import type { Trainer } from "../../trainers/contract/trainer.js";
import { builtInTrainerNames, resolveTrainer } from "../../trainers/registry.js";
import { choiceList, integerFlag, joinNegativeValues, RUN_FLAGS } from "../options.js";
import { ProgressLine } from "../progress.js";
import { assertReportWritable } from "../report-path.js";
import { runContextFromFlags } from "../run-context.js";
import { UsageError } from "../usage-error.js";
import { harnessVersion } from "../version.js";

const AUDIT_FLAGS = {
  ...RUN_FLAGS,
  trainer: { type: "string", multiple: true },
  runs: { type: "string" },
  seed: { type: "string" },
  path: { type: "string" },
  precision: { type: "string", multiple: true },
  model: { type: "string", multiple: true },
  "max-dataset-size": { type: "string" },
  "max-epochs": { type: "string" },
} as const;

export const AUDIT_USAGE = `accumaudit audit [--trainer NAME]... [--runs N] [--seed S] [--path P]
  [--precision fp32|fp16|bf16]... [--model fingerprint|logistic|mlp]...
  [--max-dataset-size N] [--max-epochs E]
  [--backend cpu|wasm|webgpu|tensorflow] [--python PATH] [--device cpu|cuda] [--timeout SECONDS]
  [--json] [--report FILE]
Without --trainer, audits the built-in trainers.`;

/** `accumaudit audit`: a property search per trainer. Returns the exit code. */
export async function auditCommand(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args: joinNegativeValues(args),
    options: AUDIT_FLAGS,
    strict: true,
    allowPositionals: false,
  });
  if (values.help) {
    process.stdout.write(`${AUDIT_USAGE}\n`);
    return 0;
  }
  const runs = integerFlag(values, "runs", 1, 1_000_000) ?? 100;
  const seed =
    integerFlag(values, "seed", -0x80000000, 0x7fffffff) ??
    (Date.now() ^ (Math.random() * 0x7fffffff)) | 0;
  const path = typeof values.path === "string" ? values.path : undefined;
  if (path !== undefined && !/^\d+(:\d+)*$/.test(path))
    throw new UsageError(`--path: expected numbers joined by ':', saw "${path}"`);
  const space = {
    ...(values.precision ? { precisions: choiceList(values, "precision", PRECISIONS) } : {}),
    ...(values.model ? { models: choiceList(values, "model", MODELS) } : {}),
    maxDatasetSize:
      integerFlag(values, "max-dataset-size", 1, 1_000_000) ?? DEFAULT_SPACE.maxDatasetSize,
    maxEpochs: integerFlag(values, "max-epochs", 1, 1000) ?? DEFAULT_SPACE.maxEpochs,
  };
  const context = runContextFromFlags(values);
  if (values.report) await assertReportWritable(values.report);
  const names =
    values.trainer && values.trainer.length > 0 ? values.trainer : builtInTrainerNames();
  const trainers: Trainer[] = names.map((name) => resolveTrainer(name, context.external));
  const json = values.json === true;
  const progress = new ProgressLine(!json);
  const audit: AuditResult = {
    harnessVersion: harnessVersion(),
    date: new Date().toISOString(),
    seed,
    runs,
    backend: context.runOptions.backend ?? "cpu",
    trainers: [],
  };
  const audits = audit.trainers;
  const diagnoses: Record<string, CheckDiagnosis> = {};
  const regressionDiagnoses: Record<string, CheckDiagnosis[]> = {};
  const regressions = missionScenarios(space.models?.[0], space.precisions?.[0]);
  const report = values.report;
  const writeAuditReport = async () => {
    if (!report) return 0;
    const html = await renderAuditReport({
      audit,
      diagnoses,
      regressionDiagnoses,
      meta: {
        harnessVersion: audit.harnessVersion,
        date: audit.date,
        backend: audit.backend,
        ...(context.runOptions.device ? { device: context.runOptions.device } : {}),
        precision: (space.precisions ?? DEFAULT_SPACE.precisions).join(", "),
        seed,
        runs,
        command: ["accumaudit", "audit", ...args].join(" "),
      },
    });
    return writeReport(report, html);
  };
  let reportBytes = 0;
  if (!json) process.stdout.write(`${formatAuditHeader(audit, trainers.length)}\n`);
  try {
    for (const trainer of trainers) {
      const outcome = await auditTrainer(trainer, {
        runs,
        seed,
        ...(path === undefined ? {} : { path }),
        space,
        regressions,
        runOptions: context.runOptions,
        replayFlags: context.replayFlags,
        onProgress: (p) => progress.update(p),
      });
      progress.clear();
      audits.push(outcome.audit);
      if (outcome.diagnosis) diagnoses[trainer.name] = outcome.diagnosis;
      regressionDiagnoses[trainer.name] = outcome.regressionDiagnoses;
      if (!json) process.stdout.write(`${formatTrainerAudit(outcome.audit)}\n`);
      // Written after every trainer, so an interrupted audit keeps what it found.
      reportBytes = await writeAuditReport();
    }
  } finally {
    await Promise.all(trainers.map((t) => t.dispose?.()));
  }
  process.stdout.write(
    json ? `${JSON.stringify(audit, null, 2)}\n` : `${formatAuditSummary(audit)}\n`,
  );
  if (report) process.stderr.write(`report: ${report} (${reportBytes} bytes)\n`);
  if (audits.some((a) => a.verdict === "error")) return 2;
  return audits.some((a) => a.verdict === "fail") ? 1 : 0;
}
