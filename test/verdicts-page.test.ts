/**
 * docs/verdicts.md is what `npm run verdicts:write` writes: every table on it is regenerated here
 * (every trainer, built-in and Python, on the mission's two scenarios: both weightings on one
 * process and sample weighting on two ranks; about 40 s on a 2-core machine) and the whole page
 * must equal the stored one, but for the day it was written.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { pageTables, verdictPage, WRITTEN_LINE } from "../bench/verdict-page.js";

const root = join(import.meta.dirname, "..");
const stored = readFileSync(join(root, "docs", "verdicts.md"), "utf8");

describe("docs/verdicts.md", () => {
  it("names the day it was written", () => {
    expect(stored).toMatch(WRITTEN_LINE);
  });

  it("is what npm run verdicts:write writes today", { timeout: 600_000 }, async () => {
    const day = /on (\d{4}-\d{2}-\d{2})\.$/m.exec(stored.match(WRITTEN_LINE)?.[0] ?? "")?.[1];
    const written = verdictPage(await pageTables(), day ?? "");
    // On a difference, regenerate the page with `npm run verdicts:write` and read its diff.
    expect(stored).toBe(written);
  });
});
