import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { expect, it } from "vitest";
import { locatePython, probePackageFolder } from "./interpreter.js";

it("passes the Python package's own pytest suite (probe, recorder, loops)", () => {
  const folder = probePackageFolder();
  const result = spawnSync(
    locatePython(),
    ["-m", "pytest", "-q", "-p", "no:cacheprovider", join(folder, "tests")],
    {
      cwd: folder,
      encoding: "utf8",
      env: { ...process.env, PYTHONPATH: folder },
    },
  );
  expect(result.stdout + result.stderr).toMatch(/\d+ passed/);
  expect(result.status, result.stdout + result.stderr).toBe(0);
  // The suite alone takes about 90 s on a 2-core machine; beside the other test files, longer.
}, 900_000);
