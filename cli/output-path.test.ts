import { spawnSync } from "node:child_process";
import { chmod, mkdir, mkdtemp, readdir, symlink, writeFile } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { assertDistinctFiles, assertWritableFile } from "./output-path.js";

const temporaryFolder = () => mkdtemp(join(tmpdir(), "accumaudit-output-"));

/** The one-line message `assertWritableFile` fails with. */
async function refusal(flag: string, path: string): Promise<string> {
  const error = await assertWritableFile(flag, path).then(
    () => new Error("accepted"),
    (e: Error) => e,
  );
  expect(error.name).toBe("UsageError");
  expect(error.message).not.toContain("\n");
  return error.message;
}

describe("assertWritableFile", () => {
  it("accepts a new file in an existing folder, an existing file, and links to either", async () => {
    const folder = await temporaryFolder();
    await writeFile(join(folder, "old.html"), "x");
    await symlink("old.html", join(folder, "link.html"));
    await symlink("new.html", join(folder, "dangling.html"));
    for (const name of ["new.html", "old.html", "link.html", "dangling.html"])
      await expect(assertWritableFile("--report", join(folder, name))).resolves.toMatchObject({
        flag: "--report",
        path: join(folder, name),
      });
    expect((await readdir(folder)).sort()).toEqual(["dangling.html", "link.html", "old.html"]);
  });

  it("refuses a path ending in /, a folder, a socket, a missing folder and a path below a file", async () => {
    const folder = await temporaryFolder();
    expect(await refusal("--report", `${folder}/`)).toBe(
      `--report: expected a file path, saw ${folder}/ (it ends in /)`,
    );
    expect(await refusal("--report", `${folder}/new/`)).toContain("(it ends in /)");
    expect(await refusal("--report", `${folder}/new/.`)).toBe(
      `--report: expected a file path, saw ${folder}/new/. (it ends in .)`,
    );
    expect(await refusal("--report", "..")).toContain("saw .. (it ends in ..)");
    expect(await refusal("--junit", folder)).toBe(
      `--junit: expected a file path, saw the folder ${folder}`,
    );
    await symlink(".", join(folder, "here"));
    expect(await refusal("--junit", join(folder, "here"))).toContain("saw the folder");
    expect(await refusal("--report", join(folder, "missing", "r.html"))).toBe(
      `--report: expected a path in an existing folder, saw ${join(folder, "missing", "r.html")} (no folder ${join(folder, "missing")})`,
    );
    const file = join(folder, "a-file");
    await writeFile(file, "");
    expect(await refusal("--report", join(file, "deeper", "r.html"))).toBe(
      `--report: expected a path below a folder, saw ${join(file, "deeper", "r.html")} (${file} is a file)`,
    );
    await symlink("a-file/r.html", join(folder, "into-file"));
    expect(await refusal("--report", join(folder, "into-file"))).toContain(`(${file} is a file)`);
    const socket = join(folder, "s.sock");
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(socket, resolve));
    try {
      expect(await refusal("--junit", socket)).toBe(
        `--junit: expected a file path, saw the socket ${socket}`,
      );
    } finally {
      server.close();
    }
  });

  it("refuses a loop of symbolic links", async () => {
    const folder = await temporaryFolder();
    await symlink("b", join(folder, "a"));
    await symlink("a", join(folder, "b"));
    expect(await refusal("--report", join(folder, "a"))).toBe(
      `--report: expected a file path, saw ${join(folder, "a")} (a loop of symbolic links)`,
    );
  });

  // root may write anywhere that is not mounted read-only, so this runs for other users only.
  it("refuses a folder or a file this user cannot write to", async () => {
    const folder = await temporaryFolder();
    const locked = join(folder, "locked");
    await mkdir(locked);
    await writeFile(join(folder, "read-only.html"), "");
    await chmod(join(folder, "read-only.html"), 0o444);
    await chmod(locked, 0o555);
    await chmod(folder, 0o755);
    // root may write anywhere: as root, the check runs in the CLI as the unprivileged user nobody.
    const asRoot = process.getuid?.() === 0;
    const refused = async (flag: string, path: string) =>
      asRoot ? refusalAsNobody(flag, path) : refusal(flag, path);
    try {
      expect(await refused("--report", join(locked, "r.html"))).toContain(
        "--report: expected a writable path",
      );
      expect(await refused("--junit", join(folder, "read-only.html"))).toContain(
        "permission denied",
      );
    } finally {
      await chmod(locked, 0o755);
    }
  });
});

/** The usage line of a `check` run as the user nobody (uid 65534) with `flag path`, which must refuse it. */
function refusalAsNobody(flag: string, path: string): string {
  const cli = fileURLToPath(new URL("../dist/cli/main.js", import.meta.url));
  const args = ["--reuid=65534", "--regid=65534", "--clear-groups", process.execPath, cli];
  const scenario = ["--dataset-size", "4", "--batch-size", "2", "--accumulation", "2"];
  const run = spawnSync(
    "setpriv",
    [...args, "check", "--trainer", "reference", ...scenario, flag, path],
    {
      encoding: "utf8",
      timeout: 60_000,
    },
  );
  expect(run.status, run.stderr).toBe(2);
  expect(run.stdout).toBe("");
  const lines = run.stderr.trim().split("\n");
  expect(lines).toHaveLength(1);
  return (lines[0] ?? "").replace(/^accumaudit: /, "");
}

describe("assertDistinctFiles", () => {
  it("refuses one file for two outputs, however it is spelled", async () => {
    const folder = await temporaryFolder();
    const file = join(folder, "out.xml");
    const spellings = [
      file,
      join(folder, ".", "out.xml"),
      relative(process.cwd(), file),
      join(folder, "link.xml"),
    ];
    await symlink("out.xml", join(folder, "link.xml"));
    // Before the file exists (the link dangles) and after.
    for (const exists of [false, true]) {
      if (exists) await writeFile(file, "");
      for (const other of spellings) {
        const outputs = [
          await assertWritableFile("--report", file),
          await assertWritableFile("--junit", other),
        ];
        expect(() => assertDistinctFiles(outputs)).toThrow(
          other === file
            ? `--report and --junit: expected two different files, saw ${file} for both`
            : `--report and --junit: expected two different files, saw ${file} and ${other}, the same file`,
        );
      }
    }
  });

  it("accepts two different files", async () => {
    const folder = await temporaryFolder();
    const outputs = [
      await assertWritableFile("--report", join(folder, "r.html")),
      await assertWritableFile("--junit", join(folder, "r.xml")),
    ];
    expect(() => assertDistinctFiles(outputs)).not.toThrow();
  });
});
