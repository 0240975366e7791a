import { constants } from "node:fs";
import { access, realpath, stat } from "node:fs/promises";
import { basename, dirname } from "node:path";
import { resolveOutput } from "../reports/output-target.js";
import { UsageError } from "./usage-error.js";

/** An output flag's path, checked: where it leads and which file that is. */
export interface OutputFile {
  flag: string;
  path: string;
  /** The same for every spelling of one file: ./x, a link to x, a hard link to x. */
  identity: string;
}

/**
 * Fails before any training when an output flag (--report, --junit) names a place no file can
 * be written: a path ending in /, . or .., a folder, a socket, a path below a file or in a missing folder,
 * a file or folder this user cannot write to. Follows symbolic links as the write will. Creates
 * nothing.
 */
export async function assertWritableFile(flag: string, path: string): Promise<OutputFile> {
  // resolve() would drop these endings and name a file the user never wrote.
  const folderEnding = /(\/|(^|\/)\.\.?)$/.exec(path)?.[0].replace(/^\/(?=\.)/, "");
  if (folderEnding !== undefined)
    throw new UsageError(`${flag}: expected a file path, saw ${path} (it ends in ${folderEnding})`);
  const target = await resolveOutput(path).catch((error: NodeJS.ErrnoException) => {
    const expected = error.code === "ELOOP" ? "a file path" : "a writable path";
    throw new UsageError(`${flag}: expected ${expected}, saw ${path} (${reason(error)})`);
  });
  const { stats } = target;
  if (stats?.isDirectory())
    throw new UsageError(`${flag}: expected a file path, saw the folder ${path}`);
  if (stats?.isSocket())
    throw new UsageError(`${flag}: expected a file path, saw the socket ${path}`);
  if (stats) {
    await assertWritable(flag, path, target.path);
    return { flag, path, identity: `${stats.dev}:${stats.ino}` };
  }
  const folder = dirname(target.path);
  const missing = await missingFolder(folder);
  if (missing.kind === "unreadable")
    throw new UsageError(
      `${flag}: expected a writable path, saw ${path} (${missing.place}: ${reason(missing.error)})`,
    );
  if (missing.kind === "below-file")
    throw new UsageError(
      `${flag}: expected a path below a folder, saw ${path} (${missing.file} is a file)`,
    );
  if (missing.kind === "missing")
    throw new UsageError(
      `${flag}: expected a path in an existing folder, saw ${path} (no folder ${folder})`,
    );
  await assertWritable(flag, path, folder);
  return { flag, path, identity: `${await realpath(folder)}/${basename(target.path)}` };
}

/**
 * Fails when two output flags lead to one file (by any spelling): each would overwrite the other.
 */
export function assertDistinctFiles(outputs: readonly OutputFile[]): void {
  for (const [i, first] of outputs.entries())
    for (const second of outputs.slice(i + 1))
      if (first.identity === second.identity)
        throw new UsageError(
          `${first.flag} and ${second.flag}: expected two different files, saw ${
            first.path === second.path
              ? `${first.path} for both`
              : `${first.path} and ${second.path}, the same file`
          }`,
        );
}

async function assertWritable(flag: string, path: string, place: string): Promise<void> {
  try {
    await access(place, constants.W_OK);
  } catch (error) {
    throw new UsageError(
      `${flag}: expected a writable path, saw ${path} (${place}: ${reason(error as NodeJS.ErrnoException)})`,
    );
  }
}

type FolderState =
  | { kind: "exists" }
  | { kind: "missing" }
  | { kind: "below-file"; file: string }
  | { kind: "unreadable"; place: string; error: NodeJS.ErrnoException };

/** Whether `folder` exists, is missing, lies below a file, or cannot be looked at. */
async function missingFolder(folder: string): Promise<FolderState> {
  for (let ancestor = folder; ; ancestor = dirname(ancestor)) {
    try {
      const found = await stat(ancestor);
      if (!found.isDirectory()) return { kind: "below-file", file: ancestor };
      return ancestor === folder ? { kind: "exists" } : { kind: "missing" };
    } catch (error) {
      const failure = error as NodeJS.ErrnoException;
      if (failure.code !== "ENOENT" && failure.code !== "ENOTDIR")
        return { kind: "unreadable", place: ancestor, error: failure };
      if (dirname(ancestor) === ancestor) return { kind: "missing" };
    }
  }
}

function reason(error: NodeJS.ErrnoException): string {
  switch (error.code) {
    case "ELOOP":
      return "a loop of symbolic links";
    case "EACCES":
    case "EPERM":
      return "permission denied";
    case "EROFS":
      return "a read-only file system";
    default:
      return error.code ?? error.message;
  }
}
