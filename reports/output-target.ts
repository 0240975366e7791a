import type { Stats } from "node:fs";
import { lstat, readlink, realpath, stat } from "node:fs/promises";
import { dirname, resolve } from "node:path";

/** Links followed before giving up, as Linux does (its MAXSYMLINKS). */
const MAX_LINKS = 40;

/**
 * Where a write to `path` lands, and what is there now (no `stats` when nothing is, a dangling
 * link's target included).
 */
export interface OutputTarget {
  /**
   * Absolute. For a regular file or a folder, the real path (no symbolic links); for nothing yet,
   * the path that a write would create. Anything else (a FIFO, a pipe, a device, a socket) keeps
   * the path as given: /dev/fd/N leads to a pipe that no path names.
   */
  path: string;
  stats?: Stats;
}

/**
 * Follows `path` through its symbolic links as open(2) would, without creating anything.
 * A path below a missing folder or below a file has no `stats`; a loop of links throws ELOOP.
 */
export async function resolveOutput(path: string): Promise<OutputTarget> {
  const absolute = resolve(path);
  let stats: Stats;
  try {
    stats = await stat(absolute);
  } catch (error) {
    if (!isMissing(error)) throw error;
    return { path: await danglingTarget(absolute) };
  }
  if (!stats.isFile() && !stats.isDirectory()) return { path: absolute, stats };
  return { path: await realpath(absolute), stats };
}

/**
 * A target read as it is written (a FIFO or a pipe, a character or block device): it gets a
 * plain write, never a file renamed over it, and only the run's final contents.
 */
export function isStreamTarget(stats: Stats | undefined): boolean {
  return (
    stats !== undefined && (stats.isFIFO() || stats.isCharacterDevice() || stats.isBlockDevice())
  );
}

/** The path a write creates through `path`, which leads nowhere yet: the end of its links. */
async function danglingTarget(path: string): Promise<string> {
  let current = path;
  for (let hops = 0; hops <= MAX_LINKS; hops++) {
    try {
      if (!(await lstat(current)).isSymbolicLink()) return current;
    } catch (error) {
      if (isMissing(error)) return current;
      throw error;
    }
    current = resolve(dirname(current), await readlink(current));
  }
  throw Object.assign(new Error(`ELOOP: too many symbolic links, '${path}'`), {
    code: "ELOOP",
    path,
  });
}

function isMissing(error: unknown): boolean {
  const code = (error as NodeJS.ErrnoException).code;
  return code === "ENOENT" || code === "ENOTDIR";
}
