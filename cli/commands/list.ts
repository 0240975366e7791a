import { listTrainers } from "../../trainers/registry.js";
import { parseFlags } from "../parse-flags.js";

export const LIST_USAGE = "accumaudit list [--json]";

/** `accumaudit list`: the trainers, one per line (or JSON); any other flag is a usage error. */
export function listCommand(args: string[]): number {
  const { values } = parseFlags(args, {
    json: { type: "boolean" },
    help: { type: "boolean", short: "h" },
  } as const);
  if (values.help) {
    process.stdout.write(`${LIST_USAGE}\n`);
    return 0;
  }
  const trainers = listTrainers();
  if (values.json) {
    process.stdout.write(`${JSON.stringify(trainers, null, 2)}\n`);
    return 0;
  }
  const width = Math.max(...trainers.map((t) => t.name.length));
  for (const t of trainers) process.stdout.write(`${t.name.padEnd(width)}  ${t.description}\n`);
  process.stdout.write(
    `${"python:MODULE:FUNCTION".padEnd(width)}  your own PyTorch training function (see trainers/python/API.md)\n`,
  );
  return 0;
}
