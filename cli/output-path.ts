import { constants } from "node:fs";
import { access, stat } from "node:fs/promises";
import { dirname, resolve } from "node:path";
import { UsageError } from "./usage-error.js";

/**
 * Fails before any training when an output flag (--report, --junit) names a place no file can
 * be written: a folder, a path below a file, or a folder this user cannot write to. Creates nothing.
 */
export async function assertWritableFile(flag: string, path: string): Promise<void> {
  const target = resolve(path);
  const existing = await stat(target).catch(() => null);
  if (existing?.isDirectory())
    throw new UsageError(`${flag}: expected a file path, saw the folder ${path}`);
  let ancestor = dirname(target);
  let found = await stat(ancestor).catch(() => null);
  while (!found && dirname(ancestor) !== ancestor) {
    ancestor = dirname(ancestor);
    found = await stat(ancestor).catch(() => null);
  }
  if (!found?.isDirectory())
    throw new UsageError(
      `${flag}: expected a path below a folder, saw ${path} (${ancestor} is a file)`,
    );
  try {
    await access(existing ? target : ancestor, constants.W_OK);
  } catch {
    throw new UsageError(
      `${flag}: expected a writable path, saw ${path} (${existing ? target : ancestor} is not writable)`,
    );
  }
}
