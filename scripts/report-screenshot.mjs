// Writes a PNG of the charts of a real HTML report (docs/report.png by default): it runs the
// accumaudit command of this checkout (dist/, so `npm run screenshot` builds first) on the
// mission's documentation loop, writes the report to a temporary folder, opens it in Debian's
// Chromium (headless, through playwright-core, as the report tests do) and captures a fixed
// viewport whose top is the weight heatmap. Usage: node scripts/report-screenshot.mjs [OUTPUT.png]
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { launchChromium } from "../dist/bench/chromium.js";

/** The picture's size in CSS pixels, one device pixel each (test/report-screenshot.test.ts expects it). */
const SCREENSHOT_SIZE = { width: 1100, height: 900 };

/** The report pictured: docs-loop on the mission's 110/8/4 over 2 epochs. */
const SCREENSHOT_ARGS = [
  "check",
  "--trainer",
  "docs-loop",
  "--dataset-size",
  "110",
  "--batch-size",
  "8",
  "--accumulation",
  "4",
  "--epochs",
  "2",
];

const root = fileURLToPath(new URL("..", import.meta.url));
const output = resolve(process.argv[2] ?? join(root, "docs", "report.png"));
const folder = mkdtempSync(join(tmpdir(), "accumaudit-screenshot-"));
try {
  const report = join(folder, "report.html");
  const run = spawnSync(
    process.execPath,
    [join(root, "dist", "cli", "main.js"), ...SCREENSHOT_ARGS, "--report", report],
    { encoding: "utf8" },
  );
  // docs-loop fails its check (exit 1), as it should; anything else is no report to picture.
  if (run.status !== 1)
    throw new Error(
      `accumaudit ${SCREENSHOT_ARGS.join(" ")}: expected exit code 1 (FAIL), saw ${run.status}: ${run.stderr.trim()}`,
    );
  const browser = await launchChromium();
  try {
    const page = await browser.newPage({ viewport: SCREENSHOT_SIZE, deviceScaleFactor: 1 });
    await page.goto(pathToFileURL(report).href);
    // The charts: the step-by-sample weight heatmap and the error chart below it.
    await page.locator("#check-heatmap").evaluate((figure) => figure.scrollIntoView());
    await page.screenshot({ path: output, type: "png" });
  } finally {
    await browser.close();
  }
  console.log(`wrote ${output} (${statSync(output).size} bytes)`);
} finally {
  rmSync(folder, { recursive: true, force: true });
}
