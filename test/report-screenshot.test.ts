/**
 * scripts/report-screenshot.mjs (`npm run screenshot`) pictures a real HTML report in Chromium:
 * it writes a PNG of the size it promises, and the picture the README and docs/reports.md show
 * (docs/report.png) is such a PNG, small enough for a repository.
 */
import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CHROMIUM_PATH } from "../bench/chromium.js";

const root = join(import.meta.dirname, "..");
/** The script's fixed viewport (SCREENSHOT_SIZE there), one device pixel per CSS pixel. */
const SIZE = { width: 1100, height: 900 };
const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

/** A PNG's width and height from its IHDR chunk; an error for anything that is not a PNG. */
function pngSize(png: Buffer): { width: number; height: number } {
  if (png.length < 24 || !png.subarray(0, 8).equals(PNG_SIGNATURE))
    throw new Error(`expected a PNG signature, saw ${png.subarray(0, 8).toString("hex")}`);
  if (png.subarray(12, 16).toString("latin1") !== "IHDR")
    throw new Error(
      `expected the IHDR chunk first, saw ${png.subarray(12, 16).toString("latin1")}`,
    );
  return { width: png.readUInt32BE(16), height: png.readUInt32BE(20) };
}

let folder: string;

beforeAll(() => {
  if (!existsSync(CHROMIUM_PATH))
    throw new Error(
      `${CHROMIUM_PATH}: expected a system Chromium, saw none; run scripts/setup-browser.sh`,
    );
  folder = mkdtempSync(join(tmpdir(), "accumaudit-screenshot-test-"));
});

afterAll(() => {
  if (folder) rmSync(folder, { recursive: true, force: true });
});

describe("scripts/report-screenshot.mjs", () => {
  it("writes a non-empty PNG of the report at the fixed viewport's size", () => {
    const output = join(folder, "report.png");
    const printed = execFileSync(
      process.execPath,
      [join(root, "scripts", "report-screenshot.mjs"), output],
      { cwd: root, encoding: "utf8" },
    );
    expect(printed).toMatch(/^wrote .*report\.png \(\d+ bytes\)/);
    const png = readFileSync(output);
    expect(pngSize(png)).toEqual(SIZE);
    // A blank page compresses to a few kilobytes; the charts take tens.
    expect(png.length).toBeGreaterThan(20_000);
  });

  it("docs/report.png, the picture the pages show, is such a PNG and under 300 KB", () => {
    const png = readFileSync(join(root, "docs", "report.png"));
    expect(pngSize(png)).toEqual(SIZE);
    expect(png.length).toBeGreaterThan(20_000);
    expect(png.length).toBeLessThan(300 * 1024);
  });

  it("refuses what is not a PNG", () => {
    expect(() => pngSize(Buffer.from("<html>not a picture</html>"))).toThrow(
      /expected a PNG signature/,
    );
  });
});
