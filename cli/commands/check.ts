import { runCheck } from "../../properties/run-check.js";
import { resolveTrainer } from "../../trainers/registry.js";
import { RUN_FLAGS } from "../options.js";
import { reportersFromFlags } from "../outputs.js";
import { parseFlags } from "../parse-flags.js";
import { assertRunFlagsApply, runContextFromFlags } from "../run-context.js";
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
  const context = runContextFromFlags(values);
  const trainer = resolveTrainer(values.trainer, context.external);
  try {
    await reporter.onRunStart({
      kind: "check",
      meta: runMeta(context, { precision: scenario.precision, command: ["check", ...args] }),
      trainers: [trainer.name],
      replay: context.replay,
    });
    const check = await runCheck(trainer, scenario, context.runOptions);
    await reporter.onCheckEnd(check);
    await reporter.onRunEnd({ audits: [], check });
    return check.verdict === "pass" ? 0 : check.verdict === "fail" ? 1 : 2;
  } finally {
    await trainer.dispose?.();
  }
}
