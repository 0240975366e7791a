import { existsSync } from "node:fs";
import { mkdtemp, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { type Browser, chromium } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { CheckDiagnosis } from "../../properties/result.js";
import { auditFixture, docsLoopDiagnosis, largeDiagnosis, longRunDiagnosis } from "./fixtures.js";
import { renderAuditReport, renderCheckReport, writeReport } from "./index.js";

const CHROMIUM = "/usr/bin/chromium";

interface Written {
  name: string;
  path: string;
  bytes: number;
  renderMs: number;
}

let browser: Browser;
let folder: string;
const reports = new Map<string, Written>();

async function writeCheck(name: string, diagnosis: CheckDiagnosis): Promise<void> {
  const { meta } = auditFixture();
  const started = performance.now();
  const html = await renderCheckReport({ diagnosis, meta });
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
  const fixture = auditFixture();
  const started = performance.now();
  const html = await renderAuditReport(fixture);
  const renderMs = performance.now() - started;
  const path = join(folder, "audit.html");
  reports.set("audit", { name: "audit", path, bytes: await writeReport(path, html), renderMs });
  await writeCheck("check-110", docsLoopDiagnosis());
  await writeCheck("check-10000", largeDiagnosis());
  await writeCheck("check-long", longRunDiagnosis());
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: [
      "--no-sandbox",
      "--headless",
      "--disable-gpu",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
      "--no-first-run",
    ],
  });
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
            "npx accumaudit check --trainer docs-loop --dataset-size 110 --batch-size 8 --accumulation 4 --epochs 2",
          );
        const scenario = await page
          .locator("table", { hasText: "dataset size N" })
          .first()
          .textContent();
        const size = { "check-10000": "10000", "check-long": "500" }[name] ?? "110";
        expect(scenario).toContain(size);
        expect(await page.locator("p.explanation").first().textContent()).toMatch(
          /leaked|lost|smaller/,
        );
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
        trs.map((tr) => (tr.textContent ?? "").replace(/\s+/g, " ").trim()),
      );
      expect(rows).toHaveLength(5);
      expect(rows[1]).toMatch(/docs-loop.*✗ fail.*✗ fail.*✗ fail.*✗ fail/);
      expect(rows[2]).toMatch(/two-loop.*✗ fail.*✓ pass.*✗ fail.*✓ pass/);
      expect(rows[3]).toContain("pytorch-lightning 2.4.0");
      expect(rows[4]).toContain("! error");
      expect(await page.locator("article.trainer").count()).toBe(2);
      expect(await page.locator("pre code").allTextContents()).toContain(
        "npx accumaudit check --trainer two-loop --dataset-size 1000 --batch-size 128 --accumulation 4 --epochs 1 --model logistic",
      );
    } finally {
      await context.close();
    }
  });
});
