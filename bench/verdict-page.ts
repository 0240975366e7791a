import { disposePythonWorkers } from "../trainers/external/index.js";
import {
  defaultTrainerNames,
  type VerdictRun,
  type VerdictTable,
  verdictTable,
  weightingTable,
} from "./verdicts.js";

/** The page's line that names the day it was written: the one line a regenerated page may change. */
export const WRITTEN_LINE = /^Written by `npm run verdicts:write` on \d{4}-\d{2}-\d{2}\.$/m;

/** The runs of the page: both weightings on one process, and sample weighting on two ranks. */
export const PAGE_RUNS = {
  samples: { precision: "fp32", device: "cpu", worldSize: 1, weighting: "samples" },
  tokens: { precision: "fp32", device: "cpu", worldSize: 1, weighting: "tokens" },
  ranks: { precision: "fp32", device: "cpu", worldSize: 2, weighting: "samples" },
} as const satisfies Record<string, VerdictRun>;

/** The three tables of the page, every trainer checked (the Python ones through one worker). */
export async function pageTables(
  python?: string,
): Promise<{ samples: VerdictTable; tokens: VerdictTable; ranks: VerdictTable }> {
  const runOf = (run: VerdictRun): VerdictRun => (python ? { ...run, python } : run);
  try {
    const tables = [];
    for (const run of [PAGE_RUNS.samples, PAGE_RUNS.tokens, PAGE_RUNS.ranks].map(runOf))
      tables.push(await verdictTable(run, await defaultTrainerNames(run)));
    const [samples, tokens, ranks] = tables as [VerdictTable, VerdictTable, VerdictTable];
    return { samples, tokens, ranks };
  } finally {
    await disposePythonWorkers();
  }
}

/** A table's note as a parenthesis: "fingerprint model, fp32, ..." without the full stop. */
function measured(table: VerdictTable): string {
  return `${table.note.charAt(0).toLowerCase()}${table.note.slice(1).replace(/\.$/, "")}`;
}

/** docs/verdicts.md: the tables, with how each was measured, written on the given day. */
export function verdictPage(
  tables: { samples: VerdictTable; tokens: VerdictTable; ranks: VerdictTable },
  day: string,
): string {
  const { samples, tokens, ranks } = tables;
  return `# Verdicts

<!-- Written by bench/verdict-table.ts: edit the script, not this page. test/verdicts-page.test.ts
fails while the page differs from what the script writes. -->

Every trainer accumaudit ships, checked on the mission's two scenarios: 110 samples, micro-batch 8,
K = 4 over 2 epochs (\`110/8/4 x2\`), and 1000 samples, micro-batch 128, K = 4 (\`1000/128/4 x1\`).
The built-in TensorFlow.js loops come first, then the same loops in plain PyTorch, then the
frameworks' own accumulation. What each framework does to earn its verdict, and what each adapter
had to do, is in [frameworks.md](frameworks.md); the data-parallel runs are explained in
[data-parallel.md](data-parallel.md) and token weighting in [token-weighting.md](token-weighting.md).

Written by \`npm run verdicts:write\` on ${day}.
\`npm run verdicts\` prints one table (\`-- --weighting tokens\`, \`-- --world-size 2\`,
\`-- --trainer NAME\`, \`-- --precision fp16\`, \`-- --device cuda\` choose which);
\`npm run verdicts:write\` runs all three below and writes this page.

## Sample weighting

Measured with \`npm run verdicts\` (${measured(samples)}; maximum relative weight
error \`|w - 1/|W|| * |W|\` in brackets, tolerance 1e-4; the framework column gives each
framework's version as the run reported it, Keras on its torch backend):

${samples.lines.join("\n")}

## Token weighting

Measured with \`npm run verdicts -- --weighting tokens\` (${measured(tokens)}, data
seed 0; maximum relative weight error |w - e|/e in brackets, tolerance 1e-4):

${tokens.lines.join("\n")}

## Right under which weighting

Which trainers are right under which weighting: "right" when every property held on both
scenarios of the sample-weighted and of the token-weighted table above (one process):

${weightingTable(samples, tokens).join("\n")}

## Data-parallel, two ranks

Measured with \`npm run verdicts -- --world-size 2\` (${measured(ranks)}, gloo; the
trainers that run data-parallel):

${ranks.lines.join("\n")}
`;
}
