import { caseRunOptions } from "../../properties/progress.js";
import { runCheck } from "../../properties/run-check.js";
import { resolveTrainer } from "../../trainers/registry.js";
import { watchInterrupts } from "../interrupt.js";
import { RUN_FLAGS } from "../options.js";
import { forwardTrainerOutput, reportersFromFlags } from "../outputs.js";
import { parseFlags } from "../parse-flags.js";
import { assertPythonStarts, assertRunFlagsApply, runContextFromFlags } from "../run-context.js";
import { RUN_USAGE, runMeta } from "../run-meta.js";
import {
  scenarioFromFlags,
  scenarioHelp,
  scenarioOptions,
  scenarioUsage,
} from "../scenario-flags.js";
import { UsageError } from "../usage-error.js";

const CHECK_FLAGS = {
  ...RUN_FLAGS,
  trainer: { type: "string" },
  ...scenarioOptions(),
} as const;

export const CHECK_USAGE = [
  "accumaudit check --trainer NAME",
  ...scenarioUsage().map((line) => `  ${line}`),
  ...RUN_USAGE,
].join("\n");

/** `accumaudit check`: one trainer on one scenario. Returns the exit code. */
export async function checkCommand(args: string[]): Promise<number> {
  const { values } = parseFlags(args, CHECK_FLAGS);
  if (values.help) {
    process.stdout.write(`${CHECK_USAGE}\n\nScenario:\n${scenarioHelp()}\n`);
    return 0;
  }
  if (!values.trainer) throw new UsageError("--trainer: required (see `accumaudit list`)");
  assertRunFlagsApply(values, [values.trainer]);
  const scenario = scenarioFromFlags(values);
  const reporter = await reportersFromFlags(values);
  forwardTrainerOutput();
  const context = runContextFromFlags(values);
  await assertPythonStarts(values, [values.trainer]);
  const trainer = resolveTrainer(values.trainer, context.external);
  const interrupt = watchInterrupts();
  try {
    await reporter.onRunStart({
      kind: "check",
      meta: runMeta(context, {
        precision: scenario.precision,
        weighting: scenario.weighting,
        command: ["check", ...args],
      }),
      trainers: [trainer.name],
      replay: context.replay,
    });
    const progress = { trainer: trainer.name, phase: "check", cases: 1, runs: 1 } as const;
    reporter.onProgress({ ...progress, state: "started" });
    const runOptions = caseRunOptions(context.runOptions, progress, (p) =>
      reporter.onCaseProgress(p),
    );
    const check = await runCheck(trainer, scenario, runOptions);
    const signal = interrupt.received;
    if (signal) {
      await reporter.onRunEnd({
        audits: [],
        interrupted: { signal, completed: 0, total: 1, notReached: [trainer.name] },
      });
      return 130;
    }
    await reporter.onCheckEnd(check);
    await reporter.onRunEnd({ audits: [], check });
    return check.verdict === "pass" ? 0 : check.verdict === "fail" ? 1 : 2;
  } finally {
    interrupt.dispose();
    await trainer.dispose?.();
  }
}
