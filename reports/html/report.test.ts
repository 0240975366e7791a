import { describe, expect, it } from "vitest";
import type { CheckDiagnosis } from "../../properties/result.js";
import { auditFixture, docsLoopDiagnosis, largeDiagnosis, passingDiagnosis } from "./fixtures.js";
import { renderAuditReport, renderCheckReport } from "./index.js";

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

describe("renderAuditReport", () => {
  it("is one self-contained page with a verdict table, counterexamples and charts", async () => {
    const html = await renderAuditReport(auditFixture());
    expect(externalReferences(html)).toEqual([]);
    expect(html).toMatch(/^<!doctype html>\n<html lang="en">/);
    expect(html).toContain("Content-Security-Policy");
    expect(html).toContain('<th scope="col">weighting</th>');
    expect(html).toContain(
      "npx accumaudit check --trainer two-loop --dataset-size 1000 --batch-size 128 --accumulation 4 --epochs 1 --model logistic",
    );
    expect(html).toContain("104 samples (896–999) got weight 1/416");
    // two-loop's counterexample: 2 charts; docs-loop's never steps: none. Four trainers with
    // traces on two mission scenarios: 16 more.
    expect(html.match(/<svg /g)).toHaveLength(18);
    expect(html).toContain("python:accelerate");
    expect(html).toContain("pytorch-lightning 2.4.0");
    expect(html).toContain("Seed</dt><dd>1234567");
  });

  it("keeps SVG ids unique across charts", async () => {
    const html = await renderAuditReport(auditFixture());
    const ids = [...html.matchAll(/\bid="([^"]+)"/g)].map((m) => m[1]);
    expect(new Set(ids).size).toBe(ids.length);
    for (const [, ref] of html.matchAll(/url\(#([^)]+)\)/g)) expect(ids).toContain(ref);
  });

  it("escapes text that came from trainers", async () => {
    const fixture = auditFixture();
    const evil = '<script>alert("x")</script>';
    const trainers = fixture.audit.trainers.map((t) =>
      t.verdict === "error" ? { ...t, error: evil } : t,
    );
    const html = await renderAuditReport({ ...fixture, audit: { ...fixture.audit, trainers } });
    expect(html).not.toContain(evil);
    expect(html).toContain("&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;");
  });

  it("renders an audit in which every trainer passed, without a failing section", async () => {
    const fixture = auditFixture();
    const trainers = fixture.audit.trainers.filter((t) => t.verdict === "pass");
    const html = await renderAuditReport({
      audit: { ...fixture.audit, trainers },
      diagnoses: {},
      meta: fixture.meta,
    });
    expect(html).toContain("2 trainers audited: 2 passed, 0 failed, 0 could not be checked.");
    expect(html).not.toContain("Failing trainers");
  });

  it("falls back to the counterexample's result when a diagnosis is missing", async () => {
    const fixture = auditFixture();
    const html = await renderAuditReport({ ...fixture, diagnoses: {} });
    expect(html).toContain("No trace was kept for this counterexample");
    expect(html).toContain(
      "docs-loop applied no optimizer step at all, so its only sample never reached an update",
    );
    // Without traces, two-loop's counterexample loses its 2 charts; the mission scenarios keep theirs.
    expect(html.match(/<svg /g)).toHaveLength(16);
  });

  it("shows every trainer's mission scenarios, with charts where a trace was kept", async () => {
    const fixture = auditFixture();
    const html = await renderAuditReport(fixture);
    expect(html.match(/<section class="mission /g)).toHaveLength(10);
    expect(html.match(/<section class="mission mission-fail"/g)).toHaveLength(4);
    expect(html.match(/<section class="mission mission-error"/g)).toHaveLength(2);
    expect(html.match(/<article class="trainer /g)).toHaveLength(5);
    expect(html).toContain('<th scope="colgroup" colspan="2">mission scenarios</th>');
    expect(html).toContain('<th scope="col">N 110 · B 8 · K 4 · 2 epochs</th>');
    expect(html).toContain('<th scope="col">N 1000 · B 128 · K 4 · 1 epoch</th>');
    // docs-loop's real failure is drawn from its 110/8/4 mission diagnosis.
    const docs = html.slice(html.indexOf('id="trainer-1-docs-loop-mission-0"'));
    expect(docs).toContain("Epoch 2: 14 samples (96–109) were lost: no applied step used them.");
    expect(docs).toContain('id="trainer-1-docs-loop-mission-0-heatmap"');
    expect(docs).toContain("14 occurrences leaked into a later epoch");
    expect(html).toContain(
      "python:accelerate could not be checked: python:accelerate: expected module accelerate to import",
    );
    // Passing scenarios fold their charts away.
    expect(html.match(/<details class="charts">/g)).toHaveLength(4);
  });

  it("renders mission scenarios without charts when their diagnoses are missing", async () => {
    const { audit, diagnoses, meta } = auditFixture();
    const html = await renderAuditReport({ audit, diagnoses, meta });
    expect(html.match(/<section class="mission /g)).toHaveLength(10);
    expect(html.match(/No trace was kept for this scenario/g)).toHaveLength(8);
    expect(html.match(/<svg /g)).toHaveLength(2);
  });

  it("lists a trainer that fails only its mission scenarios among the failing ones", async () => {
    const fixture = auditFixture();
    const docs = fixture.audit.trainers.find((t) => t.trainer === "docs-loop");
    if (!docs) throw new Error("docs-loop: expected in the audit fixture");
    const onlyMissions = { ...docs, counterexample: null, casesRun: 200 };
    const html = await renderAuditReport({
      ...fixture,
      audit: { ...fixture.audit, trainers: [onlyMissions] },
    });
    expect(html).toContain(
      "The property search found no failing case in 200 generated scenarios, but 2 mission scenarios below do not pass.",
    );
    expect(html).toContain("1 trainer audited: 0 passed, 1 failed, 0 could not be checked.");
    expect(html).toContain("<title>accumaudit audit: 1 of 1 trainer fails</title>");
  });

  it("keeps an audit of 5 trainers with 2 mission scenarios each well under 5 MB", async () => {
    const started = performance.now();
    const html = await renderAuditReport(auditFixture());
    const bytes = Buffer.byteLength(html);
    console.log(
      `audit, 5 trainers x 2 mission scenarios: ${bytes} bytes, Node render ${(performance.now() - started).toFixed(0)} ms`,
    );
    expect(bytes).toBeLessThan(MAX_BYTES / 10);
  });
});

describe("renderCheckReport", () => {
  it("shows a passing check as passed", async () => {
    const html = await renderCheckReport({
      diagnosis: passingDiagnosis(),
      meta: auditFixture().meta,
    });
    expect(html).toContain("verdict-pass");
    expect(html).toContain("applied every sample exactly once per epoch");
    expect(externalReferences(html)).toEqual([]);
  });

  it("shows an error check without charts", async () => {
    const d = passingDiagnosis();
    const error: CheckDiagnosis = {
      ...d,
      trace: null,
      steps: [],
      occurrenceStatus: [],
      expectedWeight: [],
      result: { ...d.result, verdict: "error", properties: null, error: "trainer timed out" },
    };
    const html = await renderCheckReport({ diagnosis: error, meta: auditFixture().meta });
    expect(html).toContain("reference could not be checked: trainer timed out.");
    expect(html).not.toContain("<svg");
  });

  it("keeps the N = 10,000 report under 5 MB", async () => {
    const diagnosis = largeDiagnosis();
    const started = performance.now();
    const html = await renderCheckReport({ diagnosis, meta: auditFixture().meta });
    const bytes = Buffer.byteLength(html);
    console.log(
      `N = 10,000: ${bytes} bytes, Node render ${(performance.now() - started).toFixed(0)} ms`,
    );
    expect(bytes).toBeLessThan(MAX_BYTES);
  });

  it("stays under 5 MB when every other occurrence is marked (worst case for markers)", async () => {
    const d = largeDiagnosis();
    const occurrenceStatus = d.occurrenceStatus.map((row) =>
      row.map((s, i) => (i % 2 === 0 ? ("duplicated" as const) : s)),
    );
    const html = await renderCheckReport({
      diagnosis: { ...d, occurrenceStatus },
      meta: auditFixture().meta,
    });
    expect(Buffer.byteLength(html)).toBeLessThan(MAX_BYTES);
  });

  it("labels the small report's heatmap per step and per sample", async () => {
    const html = await renderCheckReport({
      diagnosis: docsLoopDiagnosis(),
      meta: auditFixture().meta,
    });
    expect(html).toContain(
      "Heatmap of the weight each of 6 steps (across) gave each of 110 samples",
    );
    expect(html).toContain("14 occurrences leaked into a later epoch");
    expect(html).toContain("panel shows 14 lost occurrences (cross marker).");
  });
});
