import { existsSync } from "node:fs";
import { delimiter, dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import type { WorkerCommand } from "./worker-process.js";

let foundRoot: string | undefined;

/** The repository (or installed package) root: the nearest folder above this module holding trainers/python. */
export function packageRoot(): string {
  foundRoot ??= searchPackageRoot();
  return foundRoot;
}

function searchPackageRoot(): string {
  let folder = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    if (existsSync(join(folder, "trainers", "python", "pyproject.toml"))) return folder;
    const parent = dirname(folder);
    if (parent === folder)
      throw new Error("accumaudit: expected trainers/python above the module, found none");
    folder = parent;
  }
}

/** Folder of the accumaudit_probe Python package, put on the worker's PYTHONPATH. */
export function probePackageFolder(): string {
  return join(packageRoot(), "trainers", "python");
}

/**
 * The Python interpreter that runs workers: the `--python` option, else $ACCUMAUDIT_PYTHON,
 * else <repo>/.venv/bin/python when it exists, else `python3`.
 */
export function locatePython(option?: string): string {
  if (option) return option;
  const fromEnv = process.env.ACCUMAUDIT_PYTHON;
  if (fromEnv) return fromEnv;
  const venv = join(packageRoot(), ".venv", "bin", "python");
  return existsSync(venv) ? venv : "python3";
}

/** The command that starts a Python worker (accumaudit_probe on its PYTHONPATH). */
export function pythonWorkerCommand(python?: string): WorkerCommand {
  const folder = probePackageFolder();
  const inherited = process.env.PYTHONPATH;
  return {
    command: locatePython(python),
    args: ["-m", "accumaudit_probe.worker"],
    env: {
      PYTHONPATH: inherited ? `${folder}${delimiter}${inherited}` : folder,
      PYTHONUNBUFFERED: "1",
      TOKENIZERS_PARALLELISM: "false",
      HF_HUB_DISABLE_TELEMETRY: "1",
    },
  };
}
