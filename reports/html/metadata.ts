import type { RunMeta } from "../reporter.js";
import { runWeightings, weightingsText } from "../words.js";
import { escapeHtml } from "./escape.js";
import { definitionList, heading } from "./markup.js";

/** The run metadata section: harness version, backend or device, precision, weighting, seed, runs, date. */
export function renderMetadata(meta: RunMeta, level: number): string {
  const list = definitionList([
    ["Harness version", `accumaudit ${meta.harnessVersion}`],
    ["Date", meta.date],
    ["Backend", meta.backend],
    ["Device", meta.device],
    ["Precision", meta.precision],
    ["Weighting", meta.weighting ? weightingsText(runWeightings(meta, [])) : undefined],
    ["Seed", meta.seed],
    ["Runs per trainer", meta.runs],
  ]);
  const command = meta.command
    ? `<p>Command:</p><pre><code>${escapeHtml(meta.command)}</code></pre>`
    : "";
  return `<section aria-labelledby="run-metadata">${heading(level, "Run metadata", "run-metadata")}${list}${command}</section>`;
}
