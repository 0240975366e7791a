import { beforeAll, describe, expect, it } from "vitest";
import type { CheckOutcome, TrainerAuditOutcome } from "../../properties/outcome.js";
import {
  auditFixture,
  docsLoopCheck,
  judgeLoop,
  largeCheck,
  MISSING_FRAMEWORK,
  passingCheck,
  testRun,
} from "../../test/support/outcomes.js";
import type { RunStart } from "../reporter.js";
import { escapeHtml } from "./escape.js";
import { renderAuditReport, renderCheckReport } from "./index.js";
import { fitsWeightsTable } from "./weights-table.js";

const MAX_BYTES = 5 * 1024 * 1024;

/** Every place in a page that could make a browser fetch something. */
function externalReferences(html: string): string[] {
  const withoutNamespaces = html
    .replaceAll('xmlns="http://www.w3.org/2000/svg"', "")
    .replaceAll('xmlns:xlink="http://www.w3.org/1999/xlink"', "");
  return [
    ...withoutNamespaces.matchAll(/https?:\/\/[^\s"'<>)]*/g),
    ...withoutNamespaces.matchAll(/\b(?:src|srcset|xlink:href)=/g),
    ...withoutNamespaces.matchAll(/<(?:script|link|iframe|object|embed|img)\b/g),
    ...withoutNamespaces.matchAll(/@import|@font-face|url\((?!#)/g),
  ].map((m) => m[0]);
}

/**
 * Charts a check draws when it judged any step: a heatmap and an error chart, or only the error
 * chart beside a table of weights for a small check; none otherwise.
 */
function chartsOf(check: CheckOutcome): number {
  if (check.verdict === "error" || check.steps.length === 0) return 0;
  return fitsWeightsTable(check) ? 1 : 2;
}

function searchCharts(audit: TrainerAuditOutcome): number {
  return audit.search.kind === "refuted" ? chartsOf(audit.search.counterexample.check) : 0;
}

let audits: TrainerAuditOutcome[];
let run: RunStart;
let html: string;

beforeAll(async () => {
  ({ audits, run } = await auditFixture());
  html = await renderAuditReport({ audits, run });
});

const byName = (name: string) => {
  const audit = audits.find((a) => a.trainer === name);
  if (!audit) throw new Error(`${name}: expected in the audit fixture`);
  return audit;
};

describe("renderAuditReport", () => {
  it("the fixture audit is real: verdicts from the search and the oracle", () => {
    expect(audits.map((a) => [a.trainer, a.verdict, a.search.kind])).toEqual([
      ["reference", "pass", "passed"],
      ["docs-loop", "fail", "refuted"],
      ["two-loop", "fail", "refuted"],
      ["python:lightning", "pass", "passed"],
      ["python:accelerate", "error", "error"],
    ]);
  });

  it("is one self-contained page with a verdict table, counterexamples and charts", () => {
    expect(externalReferences(html)).toEqual([]);
    expect(html).toMatch(/^<!doctype html>\n<html lang="en">/);
    expect(html).toContain("Content-Security-Policy");
    expect(html).toContain('<th scope="col">weighting</th>');
    const two = byName("two-loop");
    if (two.search.kind !== "refuted") throw new Error("two-loop: expected a counterexample");
    expect(html).toContain(
      escapeHtml(run.replay("two-loop", two.search.counterexample.check.scenario)),
    );
    // two-loop's 1000/128/4 known counterexample: the last micro-batch is over-weighted.
    expect(html).toContain("104 samples (896–999) got weight 1/416");
    expect(html).toContain("<h4>How to fix it</h4>");
    expect(html).toContain(
      "Each micro-batch&#39;s mean loss was divided by the number of micro-batches in its window",
    );
    expect(html).toMatch(
      /<p><strong>Evidence:<\/strong><\/p><ul class="evidence"><li>step \d+ \(micro-batch/,
    );
    const charts = audits.reduce(
      (n, a) => n + searchCharts(a) + a.regressions.reduce((m, r) => m + chartsOf(r), 0),
      0,
    );
    expect(html.match(/<svg /g)).toHaveLength(charts);
    expect(html).toContain("python:lightning (lightning 2.6.6)");
    expect(html).toContain("Seed</dt><dd>1234567");
  });

  it("keeps SVG ids unique across charts", () => {
    const ids = [...html.matchAll(/\bid="([^"]+)"/g)].map((m) => m[1]);
    expect(new Set(ids).size).toBe(ids.length);
    for (const [, ref] of html.matchAll(/url\(#([^)]+)\)/g)) expect(ids).toContain(ref);
  });

  it("escapes text that came from trainers", async () => {
    const evil = '<script>alert("x")</script>';
    const broken = byName("python:accelerate");
    if (broken.search.kind !== "error") throw new Error("expected a search error");
    const withEvil: TrainerAuditOutcome = {
      ...broken,
      search: {
        ...broken.search,
        check: { ...broken.search.check, error: { kind: "trainer", message: evil } },
      },
    };
    const page = await renderAuditReport({ audits: [withEvil], run });
    expect(page).not.toContain(evil);
    expect(page).toContain("&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;");
  });

  it("renders an audit in which every trainer passed, without a failing section", async () => {
    const page = await renderAuditReport({
      audits: audits.filter((a) => a.verdict === "pass"),
      run,
    });
    expect(page).toContain("2 trainers audited: 2 passed, 0 failed, 0 could not be checked.");
    expect(page).not.toContain("Failing trainers");
  });

  it("shows a trainer that could not be checked as such, with its error and replay command", () => {
    const section = html.slice(html.indexOf('id="errors"'));
    expect(section).toContain("Trainers that could not be checked");
    expect(section).toContain(
      `The property search could not check the trainer: at generated scenario 1 (`,
    );
    expect(section).toContain(escapeHtml(MISSING_FRAMEWORK));
    expect(section).toContain(
      `python:accelerate could not be checked: ${escapeHtml(MISSING_FRAMEWORK)}.`,
    );
    expect(section).not.toContain("shrank it");
  });

  it("shows every trainer's mission scenarios, with charts", () => {
    expect(html.match(/<section class="mission /g)).toHaveLength(10);
    expect(html.match(/<section class="mission mission-fail"/g)).toHaveLength(4);
    expect(html.match(/<section class="mission mission-error"/g)).toHaveLength(2);
    expect(html.match(/<article class="trainer /g)).toHaveLength(5);
    expect(html).toContain('<th scope="colgroup" colspan="2">known counterexamples</th>');
    expect(html).toContain('<th scope="col">N 110 · B 8 · K 4 · 2 epochs</th>');
    expect(html).toContain('<th scope="col">N 1000 · B 128 · K 4 · 1 epoch</th>');
    const docs = html.slice(html.indexOf('id="trainer-1-docs-loop-mission-0"'));
    expect(docs).toContain("Epoch 2: 14 samples (96–109) were lost: no applied step used them.");
    expect(docs).toContain('id="trainer-1-docs-loop-mission-0-heatmap"');
    expect(docs).toContain("14 occurrences leaked into a later epoch");
    // Passing scenarios fold their charts away: the two passing trainers pass both.
    expect(html.match(/<details class="charts">/g)).toHaveLength(4);
  });

  it("lists a trainer that fails only its mission scenarios among the failing ones", async () => {
    const docs = byName("docs-loop");
    const onlyMissions: TrainerAuditOutcome = {
      ...docs,
      search: { kind: "passed", casesRun: 200 },
    };
    const page = await renderAuditReport({ audits: [onlyMissions], run });
    expect(page).toContain(
      "The property search found no failing case in 200 generated scenarios, but 2 known counterexamples below fail too.",
    );
    expect(page).toContain("<h6>How to fix it</h6>");
    expect(page).toContain("1 trainer audited: 0 passed, 1 failed, 0 could not be checked.");
    expect(page).toContain("<title>accumaudit audit: 1 of 1 trainer fails</title>");
  });

  it("lets the same trainer appear twice", async () => {
    const docs = byName("docs-loop");
    const page = await renderAuditReport({ audits: [docs, docs], run });
    expect(page).toContain('id="trainer-0-docs-loop"');
    expect(page).toContain('id="trainer-1-docs-loop"');
    expect(page.match(/<article class="trainer /g)).toHaveLength(2);
  });

  it("keeps an audit of 5 trainers with 2 mission scenarios each well under 5 MB", () => {
    const bytes = Buffer.byteLength(html);
    console.log(`audit, 5 trainers x 2 mission scenarios: ${bytes} bytes`);
    expect(bytes).toBeLessThan(MAX_BYTES / 10);
  });
});

describe("renderCheckReport", () => {
  const check = testRun("check");

  it("shows a passing check as passed", async () => {
    const page = await renderCheckReport({ check: passingCheck(), run: check });
    expect(page).toContain("verdict-pass");
    expect(page).toContain("applied every sample exactly once per epoch");
    expect(externalReferences(page)).toEqual([]);
  });

  it("shows an error check without charts", async () => {
    const d = passingCheck();
    const error: CheckOutcome = {
      trainer: d.trainer,
      scenario: d.scenario,
      verdict: "error",
      error: { kind: "trainer", message: "trainer timed out" },
    };
    const page = await renderCheckReport({ check: error, run: check });
    expect(page).toContain("reference could not be checked: trainer timed out.");
    expect(page).not.toContain("<svg");
  });

  it("keeps the N = 10,000 report under 5 MB", async () => {
    const started = performance.now();
    const page = await renderCheckReport({ check: largeCheck(), run: check });
    const bytes = Buffer.byteLength(page);
    console.log(
      `N = 10,000: ${bytes} bytes, Node render ${(performance.now() - started).toFixed(0)} ms`,
    );
    expect(bytes).toBeLessThan(MAX_BYTES);
  });

  it("stays under 5 MB when every other occurrence is marked (worst case for markers)", async () => {
    const d = largeCheck();
    const status = d.weights.status.map((row) =>
      row.map((s, i) => (i % 2 === 0 ? ("duplicated" as const) : s)),
    );
    const page = await renderCheckReport({
      check: { ...d, weights: { ...d.weights, status } },
      run: check,
    });
    expect(Buffer.byteLength(page)).toBeLessThan(MAX_BYTES);
  });

  it("shows a one-sample case's weights as a small table, not a heatmap", async () => {
    const page = await renderCheckReport({
      check: judgeLoop({ datasetSize: 1, batchSize: 1, accumulation: 2 }, "tail-step"),
      run: check,
    });
    expect(page).toContain("Weight each step gave each sample&#39;s occurrence");
    expect(page).toContain("<td>1/2 (expected 1/1)</td>");
    expect(page).not.toContain("Weight heatmap");
    expect(page).toContain("Relative error per step");
  });

  it("labels the small report's heatmap per step and per sample", async () => {
    const page = await renderCheckReport({ check: docsLoopCheck(), run: check });
    expect(page).toContain(
      "Heatmap of the weight each of 6 steps (across) gave each of 110 samples",
    );
    expect(page).toContain("14 occurrences leaked into a later epoch");
    expect(page).toContain("panel shows 14 lost occurrences (cross marker).");
  });
});
