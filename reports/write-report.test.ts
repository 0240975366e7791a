import { execFileSync } from "node:child_process";
import {
  chmod,
  chown,
  link,
  lstat,
  mkdir,
  mkdtemp,
  readdir,
  readFile,
  readlink,
  stat,
  symlink,
  writeFile,
} from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { writeReport } from "./write-report.js";

const temporaryFolder = () => mkdtemp(join(tmpdir(), "accumaudit-write-"));

describe("writeReport", () => {
  it("writes the file, returns its byte size and leaves no temporary file", async () => {
    const folder = await temporaryFolder();
    const path = join(folder, "nested", "report.html");
    const html = "<p>weight ÷ expected</p>";
    expect(await writeReport(path, html)).toBe(Buffer.byteLength(html));
    expect(await readFile(path, "utf8")).toBe(html);
    expect(await writeReport(path, Promise.resolve("<p>second</p>"))).toBe(13);
    expect(await readFile(path, "utf8")).toBe("<p>second</p>");
    expect(await readdir(join(folder, "nested"))).toEqual(["report.html"]);
  });

  it("leaves no temporary file when the target cannot be replaced", async () => {
    const folder = await temporaryFolder();
    await writeReport(join(folder, "taken", "x.html"), "x");
    await expect(writeReport(join(folder, "taken"), "y")).rejects.toThrow();
    expect(await readdir(folder)).toEqual(["taken"]);
  });

  it("replaces a regular file by renaming a complete one over it, keeping its mode", async () => {
    const folder = await temporaryFolder();
    const path = join(folder, "report.html");
    await writeFile(path, "old");
    await chmod(path, 0o640);
    const before = await stat(path);
    await writeReport(path, "new");
    const after = await stat(path);
    expect(after.ino).not.toBe(before.ino);
    expect(after.mode & 0o7777).toBe(0o640);
    expect(await readFile(path, "utf8")).toBe("new");
    expect(await readdir(folder)).toEqual(["report.html"]);
  });

  it.skipIf(process.getuid?.() !== 0)(
    "as root, keeps the replaced file's owner and group",
    async () => {
      const folder = await temporaryFolder();
      const path = join(folder, "report.html");
      await writeFile(path, "old");
      await chown(path, 65534, 65534);
      await writeReport(path, "new");
      expect(await stat(path)).toMatchObject({ uid: 65534, gid: 65534 });
      expect(await readFile(path, "utf8")).toBe("new");
    },
  );

  it("gives a new file the mode a plain write would: 0o666 less the umask", async () => {
    const folder = await temporaryFolder();
    const path = join(folder, "report.html");
    await writeReport(path, "new");
    expect((await stat(path)).mode & 0o777).toBe(0o666 & ~process.umask());
  });

  it("a reader never sees half a report while it is rewritten", async () => {
    const folder = await temporaryFolder();
    const path = join(folder, "report.html");
    const versions = ["a", "b"].map((c) => c.repeat(4 << 20));
    await writeReport(path, versions[0] ?? "");
    let writing = true;
    const seen = new Set<number>();
    const reader = (async () => {
      while (writing) {
        const text = await readFile(path, "utf8");
        seen.add(versions.includes(text) ? text.length : -text.length);
      }
    })();
    for (let round = 1; round <= 12; round++) await writeReport(path, versions[round % 2] ?? "");
    writing = false;
    await reader;
    expect([...seen]).toEqual([4 << 20]);
  });

  it("keeps the old report when the new one cannot be made", async () => {
    const folder = await temporaryFolder();
    const path = join(folder, "report.html");
    await writeFile(path, "old");
    const failed = Promise.reject(new Error("render failed"));
    failed.catch(() => undefined); // handled here too: writeReport may take it after a while
    await expect(writeReport(path, failed)).rejects.toThrow("render failed");
    expect(await readFile(path, "utf8")).toBe("old");
    expect(await readdir(folder)).toEqual(["report.html"]);
  });

  it("writes through a symbolic link: the link stays, its target gets the report", async () => {
    const folder = await temporaryFolder();
    await mkdir(join(folder, "reports"));
    await mkdir(join(folder, "links"));
    const target = join(folder, "reports", "report.html");
    await writeFile(target, "old");
    const linkPath = join(folder, "links", "latest.html");
    await symlink("../reports/report.html", linkPath);
    const chained = join(folder, "links", "chained.html");
    await symlink("latest.html", chained);
    await writeReport(chained, "new");
    expect((await lstat(linkPath)).isSymbolicLink()).toBe(true);
    expect((await lstat(chained)).isSymbolicLink()).toBe(true);
    expect(await readlink(linkPath)).toBe("../reports/report.html");
    expect(await readFile(target, "utf8")).toBe("new");
    expect((await readdir(join(folder, "links"))).sort()).toEqual(["chained.html", "latest.html"]);
    expect(await readdir(join(folder, "reports"))).toEqual(["report.html"]);
  });

  it("a dangling link gets its target created, as a plain write would", async () => {
    const folder = await temporaryFolder();
    const linkPath = join(folder, "latest.html");
    await symlink("report.html", linkPath);
    await writeReport(linkPath, "new");
    expect((await lstat(linkPath)).isSymbolicLink()).toBe(true);
    expect(await readFile(join(folder, "report.html"), "utf8")).toBe("new");
  });

  it("a file with another hard link is rewritten in place, so both names see the report", async () => {
    const folder = await temporaryFolder();
    const path = join(folder, "report.html");
    await writeFile(path, "old");
    await link(path, join(folder, "copy.html"));
    await writeReport(path, "new");
    expect(await readFile(join(folder, "copy.html"), "utf8")).toBe("new");
    expect((await stat(path)).nlink).toBe(2);
  });

  it("a FIFO gets a plain write and stays a FIFO", async () => {
    const folder = await temporaryFolder();
    const fifo = join(folder, "report.fifo");
    execFileSync("mkfifo", [fifo]);
    const received = readFile(fifo, "utf8");
    expect(await writeReport(fifo, "<p>streamed</p>")).toBe(15);
    expect(await received).toBe("<p>streamed</p>");
    expect((await lstat(fifo)).isFIFO()).toBe(true);
    expect(await readdir(folder)).toEqual(["report.fifo"]);
  });
});
