import { mkdtemp, readdir, readFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { writeReport } from "./write-report.js";

describe("writeReport", () => {
  it("writes the file, returns its byte size and leaves no temporary file", async () => {
    const folder = await mkdtemp(join(tmpdir(), "accumaudit-write-"));
    const path = join(folder, "nested", "report.html");
    const html = "<p>weight ÷ expected</p>";
    expect(await writeReport(path, html)).toBe(Buffer.byteLength(html));
    expect(await readFile(path, "utf8")).toBe(html);
    expect(await writeReport(path, Promise.resolve("<p>second</p>"))).toBe(13);
    expect(await readFile(path, "utf8")).toBe("<p>second</p>");
    expect(await readdir(join(folder, "nested"))).toEqual(["report.html"]);
  });

  it("leaves no temporary file when the target cannot be replaced", async () => {
    const folder = await mkdtemp(join(tmpdir(), "accumaudit-write-"));
    await writeReport(join(folder, "taken", "x.html"), "x");
    await expect(writeReport(join(folder, "taken"), "y")).rejects.toThrow();
    expect(await readdir(folder)).toEqual(["taken"]);
  });
});
