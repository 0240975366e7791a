import type { Verdict } from "../../properties/outcome.js";
import { escapeHtml } from "./escape.js";

/** An `<hN>` with escaped text; levels past 6 stay at 6. */
export function heading(level: number, text: string, id?: string): string {
  const n = Math.min(6, Math.max(1, level));
  return `<h${n}${id ? ` id="${escapeHtml(id)}"` : ""}>${escapeHtml(text)}</h${n}>`;
}

const VERDICT_SYMBOL: Record<Verdict, string> = { pass: "✓", fail: "✗", error: "!" };

/** A verdict as symbol plus word, so it reads without colour; "n/a" for a property that could not be evaluated. */
export function verdictBadge(verdict: Verdict | "n/a" | null): string {
  if (verdict === null) return `<span class="verdict verdict-none">— not run</span>`;
  if (verdict === "n/a") return `<span class="verdict verdict-none">– not applicable</span>`;
  return `<span class="verdict verdict-${verdict}"><span aria-hidden="true">${VERDICT_SYMBOL[verdict]} </span>${verdict}</span>`;
}

/** A table with a caption, a header row of `<th scope="col">` and rows whose first cell is a `<th scope="row">`. */
export function table(input: {
  caption: string;
  columns: string[];
  rows: Array<{ header: string; cells: string[] }>;
  /** Column indices (after the row header) holding numbers, right-aligned. */
  numeric?: number[];
  /**
   * An optional header row above the columns that groups them; spans count the row-header
   * column too and should add up to all columns. A group without a label is left blank.
   */
  groups?: Array<{ label: string; span: number }>;
}): string {
  const groups = input.groups
    ? `<tr>${input.groups
        .map((g) =>
          g.label === ""
            ? `<td colspan="${g.span}"></td>`
            : `<th scope="colgroup" colspan="${g.span}">${escapeHtml(g.label)}</th>`,
        )
        .join("")}</tr>`
    : "";
  const head =
    groups +
    `<tr>${input.columns.map((c) => `<th scope="col">${escapeHtml(c)}</th>`).join("")}</tr>`;
  const body = input.rows
    .map(
      (r) =>
        `<tr><th scope="row">${r.header}</th>${r.cells
          .map((c, i) => `<td${input.numeric?.includes(i) ? ' class="num"' : ""}>${c}</td>`)
          .join("")}</tr>`,
    )
    .join("\n");
  return `<div class="table-scroll"><table>\n<caption>${escapeHtml(input.caption)}</caption>\n<thead>${head}</thead>\n<tbody>\n${body}\n</tbody>\n</table></div>`;
}

/** A definition list of label / value pairs; values are escaped. */
export function definitionList(entries: Array<[string, string | number | undefined]>): string {
  const items = entries
    .filter((e): e is [string, string | number] => e[1] !== undefined && e[1] !== "")
    .map(([k, v]) => `<dt>${escapeHtml(k)}</dt><dd>${escapeHtml(String(v))}</dd>`)
    .join("");
  return `<dl class="meta">${items}</dl>`;
}

/** An id fragment from a trainer name: `python:lightning` gives `python-lightning`. */
export function slug(text: string): string {
  return (
    text
      .toLowerCase()
      .replace(/[^a-z0-9]+/g, "-")
      .replace(/^-|-$/g, "") || "x"
  );
}
