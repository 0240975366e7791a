import { existsSync } from "node:fs";
import { mkdtemp, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import type { Browser } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CHROMIUM_PATH as CHROMIUM, launchChromium } from "../../bench/chromium.js";
import type { CheckOutcome, TrainerAuditOutcome } from "../../properties/outcome.js";
import {
  auditFixture,
  docsLoopCheck,
  largeCheck,
  longRunCheck,
  testRun,
} from "../../test/support/outcomes.js";
import { writeReport } from "../write-report.js";
import { renderAuditReport, renderCheckReport } from "./index.js";

interface Written {
  name: string;
  path: string;
  bytes: number;
  renderMs: number;
}

let browser: Browser;
let audits: TrainerAuditOutcome[];
let folder: string;
const reports = new Map<string, Written>();

async function writeCheck(name: string, check: CheckOutcome): Promise<void> {
  const started = performance.now();
  const html = await renderCheckReport({ check, run: testRun("check") });
  const renderMs = performance.now() - started;
  const path = join(folder, `${name}.html`);
  reports.set(name, { name, path, bytes: await writeReport(path, html), renderMs });
}

beforeAll(async () => {
  if (!existsSync(CHROMIUM))
    throw new Error(
      `${CHROMIUM}: expected a system Chromium, saw none; run scripts/setup-browser.sh`,
    );
  folder = await mkdtemp(join(tmpdir(), "accumaudit-report-"));
  const fixture = await auditFixture();
  audits = fixture.audits;
  const started = performance.now();
  const html = await renderAuditReport(fixture);
  const renderMs = performance.now() - started;
  const path = join(folder, "audit.html");
  reports.set("audit", { name: "audit", path, bytes: await writeReport(path, html), renderMs });
  await writeCheck("check-110", docsLoopCheck());
  await writeCheck("check-10000", largeCheck());
  await writeCheck("check-long", longRunCheck());
  browser = await launchChromium();
});

afterAll(async () => {
  await browser?.close();
});

/** Opens a report from disk; returns what the page logged and requested, and its load time. */
async function open(report: Written) {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const page = await context.newPage();
  const problems: string[] = [];
  const requests: string[] = [];
  page.on("console", (m) => {
    if (m.type() === "error" || m.type() === "warning") problems.push(`${m.type()}: ${m.text()}`);
  });
  page.on("pageerror", (e) => problems.push(`pageerror: ${e.message}`));
  page.on("request", (r) => requests.push(r.url()));
  await context.route("**/*", (route) =>
    route.request().url() === pathToFileURL(report.path).href ? route.continue() : route.abort(),
  );
  const started = performance.now();
  await page.goto(pathToFileURL(report.path).href, { waitUntil: "load" });
  const loadMs = performance.now() - started;
  return { context, page, problems, requests, loadMs };
}

describe.each(["audit", "check-110", "check-10000", "check-long"])(
  "the %s report in Chromium",
  (name) => {
    it("loads with no console error and requests nothing but itself", async () => {
      const report = reports.get(name);
      if (!report) throw new Error(`${name}: report was not written`);
      const { context, page, problems, requests, loadMs } = await open(report);
      try {
        expect(problems).toEqual([]);
        expect(requests).toEqual([pathToFileURL(report.path).href]);
        const shot = join(folder, `${name}.png`);
        await page.screenshot({ path: shot, fullPage: true });
        expect((await stat(shot)).size).toBeGreaterThan(10_000);
        console.log(
          `${name}: ${(report.bytes / 1024).toFixed(1)} KiB, Node render ${report.renderMs.toFixed(0)} ms, ` +
            `Chromium load ${loadMs.toFixed(0)} ms, screenshot ${shot}`,
        );
      } finally {
        await context.close();
      }
    });

    it("shows the counterexample, charts with text alternatives, and a sound outline", async () => {
      const report = reports.get(name);
      if (!report) throw new Error(`${name}: report was not written`);
      const { context, page } = await open(report);
      try {
        expect(await page.getAttribute("html", "lang")).toBe("en");
        const levels = await page.$$eval("h1,h2,h3,h4,h5,h6", (hs) =>
          hs.map((h) => Number(h.tagName[1])),
        );
        expect(levels[0]).toBe(1);
        expect(levels.filter((l) => l === 1)).toHaveLength(1);
        levels.forEach((l, i) => {
          if (i > 0) expect(l).toBeLessThanOrEqual((levels[i - 1] ?? 1) + 1);
        });
        const code = await page.locator("pre code").allTextContents();
        if (name === "audit")
          expect(code).toContain(
            "accumaudit check --trainer docs-loop --dataset-size 1 --batch-size 1 --accumulation 2",
          );
        const scenario = await page
          .locator("table", { hasText: "dataset size N" })
          .first()
          .textContent();
        const size = { audit: "1", "check-10000": "10000", "check-long": "500" }[name] ?? "110";
        expect(scenario).toMatch(new RegExp(`dataset size N\\s*${size}(?!\\d)`));
        expect(await page.locator("p.explanation").first().textContent()).toMatch(
          /leaked|lost|smaller|no optimizer step/,
        );
        // Charts of passing mission scenarios are folded away; unfold them to measure.
        await page.$$eval("details", (ds) => {
          for (const d of ds) d.open = true;
        });
        const charts = page.locator('figure [role="img"]');
        expect(await charts.count()).toBeGreaterThanOrEqual(2);
        for (const chart of await charts.all()) {
          expect(await chart.getAttribute("aria-label")).toBeTruthy();
          const box = await chart.locator("svg").boundingBox();
          expect(box?.width ?? 0).toBeGreaterThan(300);
          expect(box?.height ?? 0).toBeGreaterThan(150);
        }
        const captions = await page.locator("figure figcaption").allTextContents();
        expect(
          captions.some((c) => c.includes("Colour is weight divided by the expected weight")),
        ).toBe(true);
        expect(await page.locator("table:not(:has(th))").count()).toBe(0);
        const heatmap = page.locator("figure").first();
        await heatmap.screenshot({ path: join(folder, `${name}-heatmap.png`) });
      } finally {
        await context.close();
      }
    });
  },
);

describe("the audit report", () => {
  it("has a verdict table whose verdicts read without colour", async () => {
    const report = reports.get("audit");
    if (!report) throw new Error("audit: report was not written");
    const { context, page } = await open(report);
    try {
      const rows = await page.$$eval('section[aria-labelledby="verdicts"] table tbody tr', (trs) =>
        trs.map((tr) =>
          [...tr.children]
            .map((cell) => (cell.textContent ?? "").replace(/\s+/g, " ").trim())
            .join(" "),
        ),
      );
      expect(rows).toHaveLength(5);
      // verdict, search: coverage, weighting, windowing, cases run, then each mission scenario.
      const cases = audits.map((a) => a.search.casesRun);
      expect(rows[0]).toBe(
        `reference built-in ✓ pass ✓ pass ✓ pass ✓ pass ${cases[0]} ✓ pass ✓ pass`,
      );
      // docs-loop's shrunk case never steps: it loses its sample (coverage, windowing), and
      // weighting, with no weight applied, is not applicable.
      expect(rows[1]).toBe(
        `docs-loop built-in ✗ fail ✗ fail – not applicable ✗ fail ${cases[1]} ✗ fail ✗ fail`,
      );
      expect(rows[2]).toBe(
        `two-loop built-in ✗ fail ✓ pass ✗ fail ✓ pass ${cases[2]} ✗ fail ✗ fail`,
      );
      expect(rows[3]).toContain("python:lightning lightning 2.6.6 ✓ pass");
      expect(rows[4]).toBe(
        "python:accelerate built-in ! error ! error ! error ! error 1 ! error ! error",
      );
      const headers = await page.$$eval('section[aria-labelledby="verdicts"] thead th', (ths) =>
        ths.map((th) => th.textContent),
      );
      expect(headers).toEqual([
        "property search",
        "known counterexamples",
        "trainer",
        "framework",
        "verdict",
        "coverage",
        "weighting",
        "windowing",
        "cases run",
        "N 110 · B 8 · K 4 · 2 epochs",
        "N 1000 · B 128 · K 4 · 1 epoch",
      ]);
      expect(await page.locator("article.trainer").count()).toBe(5);
      expect(await page.locator("pre code").allTextContents()).toContain(
        "accumaudit check --trainer two-loop --dataset-size 3 --batch-size 2 --accumulation 2",
      );
    } finally {
      await context.close();
    }
  });
});

describe("the audit report's mission scenarios", () => {
  it("gives every trainer a section per mission scenario, with charts from its diagnosis", async () => {
    const report = reports.get("audit");
    if (!report) throw new Error("audit: report was not written");
    const { context, page, problems } = await open(report);
    try {
      const articles = page.locator("article.trainer");
      for (const article of await articles.all()) {
        expect(await article.locator("h4", { hasText: "Known counterexamples" }).count()).toBe(1);
        expect(await article.locator("section.mission").count()).toBe(2);
      }
      const docs = page.locator("article.trainer", { hasText: "docs-loop" });
      const failing = docs.locator("section.mission").first();
      expect(await failing.locator("h5").textContent()).toBe("N 110 · B 8 · K 4 · 2 epochs");
      expect(await failing.locator(".verdict").first().textContent()).toContain("✗ fail");
      expect(await failing.locator("table").textContent()).toMatch(
        /coverage.*fail.*weighting.*fail.*windowing.*fail/s,
      );
      // The shrunk counterexample has no chart; the mission scenario shows the 14 leaked samples.
      expect(await docs.locator("figure").count()).toBe(4);
      const figures = failing.locator("figure");
      expect(await figures.count()).toBe(2);
      for (const figure of await figures.all()) {
        const box = await figure.locator("svg").boundingBox();
        expect(box?.width ?? 0).toBeGreaterThan(300);
        expect(box?.height ?? 0).toBeGreaterThan(150);
      }
      expect(await figures.first().locator("figcaption").textContent()).toContain(
        "14 occurrences leaked into a later epoch",
      );
      await figures.first().screenshot({ path: join(folder, "audit-mission-heatmap.png") });
      // A passing trainer's charts are folded away but present.
      const passing = page.locator("article.trainer-pass").first();
      const folded = passing.locator("details.charts");
      expect(await folded.count()).toBe(2);
      expect(await folded.first().evaluate((d) => (d as HTMLDetailsElement).open)).toBe(false);
      expect(await folded.first().locator("figure").first().isVisible()).toBe(false);
      await folded.first().locator("summary").click();
      const box = await folded.first().locator("figure svg").first().boundingBox();
      expect(box?.width ?? 0).toBeGreaterThan(300);
      const error = page.locator("article.trainer-error section.mission");
      expect(await error.count()).toBe(2);
      expect(await error.locator("svg").count()).toBe(0);
      expect(problems).toEqual([]);
    } finally {
      await context.close();
    }
  });
});
