import { listTrainers } from "../../trainers/registry.js";

/** `accumaudit list`: the trainers, one per line (or JSON). */
export function listCommand(json: boolean): number {
  const trainers = listTrainers();
  if (json) {
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
